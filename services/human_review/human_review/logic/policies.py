"""Review policies: which prediction goes to a person, and why.

A policy is configuration per (source, detail-type), or per name for `ReviewCandidate` events. It
says where the score is, its scale, the threshold, what to do without a label, how often to audit
confident predictions, and how many loops a minute may start. Everything here is pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from human_review.models import (
    PiiReviewCandidateData,
    PredictedLabel,
    ReviewCandidateData,
    ReviewDecision,
    ReviewReason,
    ReviewSubject,
    TaskType,
)
from pitwall_shared.events import Envelope

REVIEW_CANDIDATE = "ReviewCandidate"


class PolicyError(ValueError):
    """No policy fits an event, or the policy configuration itself is invalid."""


class OutcomeRule(BaseModel):
    """Where the world answers a forecast: the event that carries the outcome, how it names the
    prediction's subject, and which class each observed value means (ground truth, issue 19)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    detail_type: str
    subject_fields: tuple[str, ...] = Field(min_length=1)  # dotted paths in the outcome's `data`
    label_field: str  # dotted path of the observed value; null (e.g. an expired battle) = no label
    labels: dict[str, str] = Field(min_length=1)  # observed value as JSON text ("true") -> class


class ReviewPolicy(BaseModel):
    """One review policy; the threshold is on the policy's own `scale`.

    >>> policy = ReviewPolicy(name="custom-labels", detail_type="ReviewCandidate", dataset="pit",
    ...                       task_type="object-detection", scale=100, threshold=60)
    >>> policy.normalised_threshold
    Decimal('0.6')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    source: str | None = None  # None: any source (ReviewCandidate policies are chosen by name)
    detail_type: str
    flow_definition_arn: str | None = None  # None: the function's default flow definition
    task_type: TaskType = TaskType.CLASSIFICATION
    dataset: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    score_field: str | None = "confidence"  # dotted path in `data`; ReviewCandidate: top label's score
    label_field: str | None = None  # dotted path of the predicted label in `data`
    probability_field: str | None = None  # binary predictions: P(classes[1]), label chosen at 0.5
    model_field: str | None = "model_version"
    classes: tuple[str, ...] = ()
    scale: Literal[1, 100] = 1
    threshold: float = Field(ge=0)
    review_when_no_label: bool = True
    audit_sample_rate: float = Field(default=0.0, ge=0, le=1)
    max_loops_per_minute: int = Field(default=60, ge=0)
    drift_max_share: float = Field(default=0.5, gt=0, le=1)
    drift_window: int = Field(default=100, ge=2)
    drift_min_samples: int = Field(default=20, ge=1)
    drift_sample_rate: float = Field(default=0.2, ge=0, le=1)
    # Forecasts (a policy with an `outcome`): the prediction's subject (dotted paths in its `data`,
    # the same values, in order, as the outcome's `subject_fields`), and whether a person is asked
    # before the world answers: by default not (None = no for a forecast, yes otherwise).
    subject_fields: tuple[str, ...] = ()
    outcome: OutcomeRule | None = None
    start_loops: bool | None = None
    # A second question about the same event (e.g. the face-off setup besides the face-off forecast):
    # the policy applies to the events whose `data` has this dotted path (not null), besides the
    # event's main policy, with its own loop (named after the event id and this policy's name).
    applies_when: str | None = None
    # What the task shows beside the prediction: "rink" = the players' positions at detection
    # (`data.detection.players`) drawn on a rink (human_review.logic.rink).
    picture: Literal["rink"] | None = None

    @property
    def starts_loops(self) -> bool:
        return self.start_loops if self.start_loops is not None else self.outcome is None

    @model_validator(mode="after")
    def _consistent(self) -> ReviewPolicy:
        if self.outcome is not None and len(self.subject_fields) != len(self.outcome.subject_fields):
            raise ValueError("subject_fields: a forecast names its subject with as many fields as its outcome")
        if self.outcome is not None and not set(self.outcome.labels.values()) <= set(self.classes):
            raise ValueError("outcome.labels: every observed label must be one of the policy's classes")
        if self.threshold > self.scale:
            raise ValueError(f"threshold {self.threshold} is above the policy's scale {self.scale}")
        if self.probability_field and len(self.classes) != 2:
            raise ValueError("probability_field needs exactly two classes: [negative, positive]")
        if self.detail_type != REVIEW_CANDIDATE and self.source is None:
            raise ValueError("a policy for a prediction event must name its source")
        return self

    @property
    def normalised_threshold(self) -> Decimal:
        return Decimal(str(self.threshold)) / Decimal(self.scale)


class PolicyBook(BaseModel):
    """All configured policies, looked up by event."""

    model_config = ConfigDict(frozen=True)

    policies: tuple[ReviewPolicy, ...]

    @model_validator(mode="after")
    def _unique(self) -> PolicyBook:
        names = [policy.name for policy in self.policies]
        if len(names) != len(set(names)):
            raise ValueError("policy names must be unique")
        keys = [(p.source, p.detail_type, p.applies_when) for p in self.policies if p.detail_type != REVIEW_CANDIDATE]
        if len(keys) != len(set(keys)):
            raise ValueError("two policies for the same source and detail-type")
        return self

    def for_event(self, source: str, detail_type: str, data: Mapping[str, Any]) -> ReviewPolicy:
        """Return the policy of an event; `ReviewCandidate` names its own policy in `data`."""
        if detail_type == REVIEW_CANDIDATE:
            wanted = data.get("review_policy")
            for policy in self.policies:
                if policy.name == wanted and policy.detail_type == REVIEW_CANDIDATE:
                    return policy
            raise PolicyError(f"data.review_policy: no ReviewCandidate policy named {wanted!r}")
        for policy in self.policies:
            if policy.source == source and policy.detail_type == detail_type and policy.applies_when is None:
                return policy
        raise PolicyError(f"no review policy for source {source!r} and detail-type {detail_type!r}")

    def also_for_event(self, source: str, detail_type: str, data: Mapping[str, Any]) -> tuple[ReviewPolicy, ...]:
        """The second questions about this event: policies whose `applies_when` path `data` has."""
        return tuple(p for p in self.policies
                     if p.applies_when is not None and p.source == source and p.detail_type == detail_type
                     and lookup(data, p.applies_when) is not None)


    def for_outcome(self, source: str, detail_type: str) -> tuple[ReviewPolicy, ...]:
        """The forecast policies that this event answers (empty: not an outcome event)."""
        return tuple(p for p in self.policies
                     if p.outcome is not None and (p.outcome.source, p.outcome.detail_type) == (source, detail_type))


def load_policy_book(config: str | Iterable[Mapping[str, Any]], default_flow_definition_arn: str) -> PolicyBook:
    """Parse the policy configuration (JSON text or a list of dicts), filling the default flow ARN."""
    try:
        raw = json.loads(config) if isinstance(config, str) else list(config)
        items = [{"flow_definition_arn": default_flow_definition_arn} | dict(item) for item in raw]
        for item in items:
            if item["flow_definition_arn"] is None:
                item["flow_definition_arn"] = default_flow_definition_arn
        return PolicyBook(policies=tuple(ReviewPolicy.model_validate(item) for item in items))
    except (ValueError, TypeError, ValidationError) as error:
        raise PolicyError(f"invalid review policy configuration: {error}") from None


def lookup(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _number(data: Mapping[str, Any], path: str, upper: float) -> float:
    value = lookup(data, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"data.{path}: expected a number, got {type(value).__name__}")
    if not 0 <= value <= upper:
        raise ValueError(f"data.{path}: outside 0..{upper}")
    return float(value)


def subject_from_event(source: str, detail_type: str, envelope: Envelope, policy: ReviewPolicy) -> ReviewSubject:
    """Normalise a prediction event or a `ReviewCandidate` into a `ReviewSubject`.

    Raises `ValueError` naming the offending field when the event does not fit its policy.
    """
    data = envelope.data
    common: dict[str, Any] = {"event_id": envelope.event_id, "correlation_id": envelope.correlation_id,
              "source": source, "detail_type": detail_type}
    if policy.task_type is TaskType.TEXT_SPANS:
        # PiiReviewCandidate: each span is a label (type, score); the text stays in the task object
        # in the raw-PII bucket, so the loop is not free of PII.
        pii = PiiReviewCandidateData.model_validate(data)
        return ReviewSubject(
            **common, model_id=f"{source}/{detail_type}", task_type=policy.task_type,
            labels=tuple(PredictedLabel(label=span.type, score=span.score) for span in pii.spans),
            score_scale=policy.scale, task_object_s3_uri=pii.task_object, spans=tuple(pii.spans),
            pii_redacted=False,
        )
    if detail_type == REVIEW_CANDIDATE:
        candidate = ReviewCandidateData.model_validate(data)
        if candidate.task_type is not policy.task_type:
            raise ValueError(f"data.task_type: policy {policy.name} reviews {policy.task_type.value}, "
                             f"not {candidate.task_type.value}")
        return ReviewSubject(
            **common, model_id=candidate.model_id, task_type=candidate.task_type,
            labels=tuple(candidate.labels), score_scale=candidate.score_scale,
            task_object_s3_uri=candidate.task_object_s3_uri, task_text=candidate.task_text,
            pii_redacted=candidate.pii_redacted or source == "pitwall.pii_redaction",
        )
    label: str | None = None
    if policy.label_field:
        raw_label = lookup(data, policy.label_field)
        if raw_label is not None and not isinstance(raw_label, str):
            raise ValueError(f"data.{policy.label_field}: expected a string label")
        label = raw_label or None
    elif policy.probability_field and lookup(data, policy.probability_field) is not None:
        probability = _number(data, policy.probability_field, 1)
        label = policy.classes[1] if probability >= 0.5 else policy.classes[0]
    labels: tuple[PredictedLabel, ...] = ()
    if label is not None:
        if policy.score_field is None:
            raise ValueError(f"policy {policy.name}: a prediction event needs a score_field")
        score = _number(data, policy.score_field, policy.scale)
        labels = (PredictedLabel(label=label, score=score),)
    model_id = lookup(data, policy.model_field) if policy.model_field else None
    return ReviewSubject(
        **common, model_id=str(model_id or f"{source}/{detail_type}"), task_type=policy.task_type,
        labels=labels, score_scale=policy.scale, prediction=dict(data),
        pii_redacted=source == "pitwall.pii_redaction",
    )


def sample_fraction(event_id: str, salt: str) -> float:
    """A number in [0, 1) fixed by the event id: a retry or a duplicate samples the same way.

    >>> sample_fraction("evt-1", "audit") == sample_fraction("evt-1", "audit")
    True
    """
    digest = hashlib.sha256(f"{salt}:{event_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def normalised_score(label: PredictedLabel, scale: float) -> Decimal:
    # Decimal from the decimal text keeps 60/100 and 0.6/1 exactly equal (floats would not).
    return Decimal(str(label.score)) / Decimal(str(scale))


def decide(subject: ReviewSubject, policy: ReviewPolicy, *, drifting_class: str | None = None,
           drift_crossed: bool = False) -> ReviewDecision:
    """Decide whether `subject` goes to a person, and the reason.

    Order: no label, low confidence (strictly below the threshold), drift sample of the class that is
    over-predicted (always the prediction that crossed, then `drift_sample_rate` of that class),
    then the audit sample of confident predictions.
    """
    top = subject.top_label
    if top is None:
        if policy.review_when_no_label:
            return ReviewDecision(review=True, reason=ReviewReason.NO_LABEL)
        return ReviewDecision(review=False)
    score = normalised_score(top, subject.score_scale)
    if score < policy.normalised_threshold:
        return ReviewDecision(review=True, reason=ReviewReason.LOW_CONFIDENCE, normalised_score=float(score))
    if drifting_class is not None and top.label == drifting_class and (
            drift_crossed or sample_fraction(subject.event_id, f"drift:{policy.name}") < policy.drift_sample_rate):
        return ReviewDecision(review=True, reason=ReviewReason.DRIFT_SAMPLE, normalised_score=float(score))
    if sample_fraction(subject.event_id, f"audit:{policy.name}") < policy.audit_sample_rate:
        return ReviewDecision(review=True, reason=ReviewReason.AUDIT_SAMPLE, normalised_score=float(score))
    return ReviewDecision(review=False, normalised_score=float(score))


def minute_bucket(moment: datetime) -> str:
    """The per-minute key of the loop ceiling, e.g. `202611221003` (UTC)."""
    return moment.strftime("%Y%m%d%H%M")


def within_ceiling(started_this_minute: int, policy: ReviewPolicy) -> bool:
    """Whether one more loop may start in a minute that has already started `started_this_minute`."""
    return started_this_minute < policy.max_loops_per_minute
