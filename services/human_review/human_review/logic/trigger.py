"""From a prediction event to a started human loop: the steps of the trigger, in order.

Policy → normalised subject → drift monitor → decision → loop record (conditional, so a duplicate
delivery stops here) → per-minute ceiling → task object and input content → `StartHumanLoop` →
`HumanReviewRequested`. The adapters are passed in, so this module holds no AWS code.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from human_review.logic.drift import DriftCrossing, DriftObservation, observe
from human_review.logic.ground_truth import (
    SubjectState,
    ground_truth_line,
    observed_label,
    outcome_subject,
    prediction_subject,
)
from human_review.logic.loop_names import human_loop_name
from human_review.logic.manifests import ManifestContext, to_json_line
from human_review.logic.policies import PolicyBook, ReviewPolicy, decide, minute_bucket, subject_from_event
from human_review.logic.ports import TriggerPorts
from human_review.logic.rink import rink_picture_data_uri
from human_review.models import MAX_INPUT_CONTENT_CHARS, LoopRecord, LoopStatus, ReviewSubject, TaskType
from pitwall_shared.events import AwsEvent, Envelope
from pitwall_shared.jsonlines import join_lines

DRIFT_SAVE_ATTEMPTS = 5


class Outcome(StrEnum):
    NOT_REVIEWED = "not_reviewed"
    STARTED = "started"
    DUPLICATE = "duplicate"
    SKIPPED_CEILING = "skipped_ceiling"  # no longer produced: kept for records written before issue 19
    DEFERRED = "deferred"  # over the per-minute ceiling: to be retried in the next minute
    CLOSED_BY_GROUND_TRUTH = "closed_by_ground_truth"  # a forecast whose outcome was already known
    OUTCOME_RECORDED = "outcome_recorded"


def _now_text(ports: TriggerPorts) -> str:
    return ports.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _observe_drift(subject: ReviewSubject, policy: ReviewPolicy, ports: TriggerPorts) -> DriftObservation | None:
    top = subject.top_label
    if top is None:
        return None
    for _ in range(DRIFT_SAVE_ATTEMPTS):
        state = ports.state.load_drift(subject.model_id)
        seen = observe(state, model_id=subject.model_id, event_id=subject.event_id,
                       predicted_class=top.label, policy=policy)
        if seen.duplicate:
            return seen
        if seen.crossing is not None:
            # Published before the state is saved: a failure here retries the whole message and
            # recomputes the same crossing, whose event id is deterministic.
            _publish_drift(seen.crossing, subject, policy, ports)
        if ports.state.save_drift(subject.model_id, seen.state, expected_version=state.version):
            return seen
    raise RuntimeError(f"drift state of model {subject.model_id!r} kept changing under concurrent writers")


def _publish_drift(crossing: DriftCrossing, subject: ReviewSubject, policy: ReviewPolicy,
                   ports: TriggerPorts) -> None:
    data = crossing.model_dump(mode="json") | {"policy": policy.name, "source": subject.source,
                                               "detail_type": subject.detail_type}
    ports.publisher.publish(
        "PredictionDriftDetected", data,
        event_id=f"drift:{crossing.model_id}:{crossing.predicted_class}:{crossing.trigger_event_id}"[:256],
        correlation_id=subject.correlation_id,
    )


def input_content(subject: ReviewSubject, policy: ReviewPolicy, record: LoopRecord) -> dict[str, Any]:
    """What the worker task template (and the local reviewer page) shows the reviewer."""
    picture = None
    if policy.picture == "rink" and subject.prediction is not None:
        picture = rink_picture_data_uri(subject.prediction)
    content: dict[str, Any] = {
        "picture": picture,  # a data: URI (the reviewer page's CSP allows img-src data:)
        "taskType": subject.task_type.value,
        "taskObject": subject.task_object_s3_uri,  # an image (or document) the producer stored
        "text": subject.task_text,
        "prediction": subject.prediction,
        "labels": [label.model_dump(mode="json", exclude_none=True) for label in subject.labels],
        "scoreScale": subject.score_scale,
        "classes": list(policy.classes),
        "policy": policy.name,
        "reason": record.reason.value,
        "source": subject.source,
        "detailType": subject.detail_type,
        "sourceEventId": subject.event_id,
        "modelId": subject.model_id,
    }
    if subject.spans:  # text-spans (PII review): offsets and types only; the text is in taskObject
        content["spans"] = [span.model_dump(mode="json") for span in subject.spans]
    return content


def _task_object(subject: ReviewSubject, name: str, ports: TriggerPorts) -> str:
    """The S3 object a manifest line will point at (`source-ref`); written when not given."""
    if subject.task_object_s3_uri:
        return subject.task_object_s3_uri
    if subject.task_text is not None:
        uri = f"s3://{ports.bucket}/tasks/{name}/task.txt"
        ports.storage.put_text(uri, subject.task_text, content_type="text/plain; charset=utf-8")
        return uri
    uri = f"s3://{ports.bucket}/tasks/{name}/prediction.json"
    ports.storage.put_text(uri, json.dumps({"source": subject.source, "detail_type": subject.detail_type,
                                            "event_id": subject.event_id, "data": subject.prediction},
                                           sort_keys=True))
    return uri


def _serialised_input(content: dict[str, Any], name: str, ports: TriggerPorts) -> str:
    text = json.dumps(content, separators=(",", ":"))
    if len(text) <= MAX_INPUT_CONTENT_CHARS:
        return text
    # Over A2I's InputContent limit: the loop carries a reference and the template fetches it.
    uri = f"s3://{ports.bucket}/tasks/{name}/input.json"
    ports.storage.put_text(uri, text)
    reference = {key: content[key] for key in ("taskType", "taskObject", "policy", "reason", "classes")}
    return json.dumps(reference | {"inputContentS3Uri": uri}, separators=(",", ":"))


def _publish_requested(record: LoopRecord, ports: TriggerPorts, normalised_score: float | None) -> None:
    data = {
        "human_loop_name": record.human_loop_name, "human_loop_arn": record.human_loop_arn,
        "flow_definition_arn": record.flow_definition_arn, "policy": record.policy,
        "reason": record.reason.value, "source_event_id": record.source_event_id, "source": record.source,
        "detail_type": record.detail_type, "model_id": record.model_id, "task_type": record.task_type.value,
        "predicted_label": record.predicted_label, "normalised_score": normalised_score,
    }
    ports.publisher.publish("HumanReviewRequested", data, event_id=f"{record.human_loop_name}:requested",
                            correlation_id=record.correlation_id)
    ports.loops.update(record.human_loop_name, {"requested_published": True})


# When one event answers to several policies, the outcome the caller acts on: a deferred loop puts
# the message back (the others are idempotent on redelivery), then the most that happened.
_OUTCOME_RANK = (Outcome.DEFERRED, Outcome.STARTED, Outcome.CLOSED_BY_GROUND_TRUTH, Outcome.DUPLICATE,
                 Outcome.NOT_REVIEWED)


def _check_pii_task_object(subject: ReviewSubject, ports: TriggerPorts) -> None:
    """A PII review task object lives in the raw-PII bucket only (fails closed when none is set)."""
    if ports.pii_review_bucket is None:
        raise ValueError("data.task_object: PII review is not configured (PII_REVIEW_BUCKET_NAME)")
    if not (subject.task_object_s3_uri or "").startswith(f"s3://{ports.pii_review_bucket}/pii-review/"):
        raise ValueError("data.task_object: not under pii-review/ in the raw-PII bucket")


def handle_prediction(event: AwsEvent, book: PolicyBook, ports: TriggerPorts) -> Outcome:
    """Run one prediction event through its review policy (and any second question about it)."""
    envelope = Envelope.model_validate(event.detail)
    policy = book.for_event(event.source, event.detail_type, envelope.data)
    outcomes = [_handle_with_policy(event, envelope, policy, ports, loop_key=envelope.event_id)]
    for extra in book.also_for_event(event.source, event.detail_type, envelope.data):
        outcomes.append(_handle_with_policy(event, envelope, extra, ports,
                                            loop_key=f"{envelope.event_id}#{extra.name}"))
    return min(outcomes, key=lambda o: _OUTCOME_RANK.index(o) if o in _OUTCOME_RANK else len(_OUTCOME_RANK))


def _handle_with_policy(event: AwsEvent, envelope: Envelope, policy: ReviewPolicy, ports: TriggerPorts, *,
                        loop_key: str) -> Outcome:
    """One policy's review of a prediction event; start a loop (named after `loop_key`) when it says so."""
    subject = subject_from_event(event.source, event.detail_type, envelope, policy)
    if subject.task_type is TaskType.TEXT_SPANS:
        _check_pii_task_object(subject, ports)
    seen = _observe_drift(subject, policy, ports)
    decision = decide(
        subject, policy, drifting_class=seen.drifting_class if seen else None,
        drift_crossed=bool(seen and seen.state.alerted_by == subject.event_id),
    )
    name = human_loop_name(loop_key)
    forecast_pk: str | None = None
    if policy.outcome is not None:
        forecast_pk = prediction_subject(policy, envelope.data)
        # The object a ground-truth line points at, written before the prediction is recorded under
        # its subject, so an outcome that sees the prediction can rely on it.
        task_uri = _task_object(subject, name, ports)
        known = ports.state.add_prediction(forecast_pk, subject.event_id)
        if known.resolved:
            _close_prediction(policy, subject.event_id, known, ports, task_uri=task_uri)
            return Outcome.CLOSED_BY_GROUND_TRUTH
    if not decision.review or decision.reason is None or not policy.starts_loops:
        return Outcome.NOT_REVIEWED

    now = _now_text(ports)
    top = subject.top_label
    record = LoopRecord(
        human_loop_name=name, status=LoopStatus.PENDING, source_event_id=subject.event_id,
        correlation_id=subject.correlation_id, source=subject.source, detail_type=subject.detail_type,
        policy=policy.name, model_id=subject.model_id, task_type=subject.task_type, dataset=policy.dataset,
        reason=decision.reason, flow_definition_arn=policy.flow_definition_arn or "",
        predicted_label=top.label if top else None, created_at=now, updated_at=now,
    )
    existing = ports.loops.create_pending(record)
    if existing is not None:
        if existing.status is LoopStatus.IN_PROGRESS and not existing.requested_published:
            _publish_requested(existing, ports, decision.normalised_score)
            return Outcome.STARTED
        if existing.status is not LoopStatus.PENDING:
            return Outcome.DUPLICATE
        record = existing  # an earlier attempt stopped half-way: finish it

    if not ports.state.try_acquire_loop_slot(policy.name, minute_bucket(ports.clock()), policy.max_loops_per_minute):
        # Over the ceiling the loop waits (issue 19 item 3): the record stays Pending and the caller
        # puts the message back for the next minute; its redelivery finishes this same record.
        ports.loops.update(name, {"failure_reason": "waiting: loops-per-minute ceiling", "updated_at": _now_text(ports)})
        return Outcome.DEFERRED

    if forecast_pk is not None and ports.state.get_subject(forecast_pk).resolved:
        # The outcome arrived while this loop was being recorded: no person is asked.
        ports.loops.update(name, {"status": LoopStatus.STOPPED.value, "failure_reason": "closed by ground truth",
                                  "updated_at": _now_text(ports)})
        return Outcome.CLOSED_BY_GROUND_TRUTH
    record = record.model_copy(update={"task_object_s3_uri": _task_object(subject, name, ports)})
    content = _serialised_input(input_content(subject, policy, record), name, ports)
    arn = ports.human_loops.start(name=name, flow_definition_arn=record.flow_definition_arn,
                                  input_content=content, free_of_pii=subject.pii_redacted)
    record = record.model_copy(update={"status": LoopStatus.IN_PROGRESS, "human_loop_arn": arn,
                                       "updated_at": _now_text(ports)})
    ports.loops.update(name, {"status": record.status.value, "human_loop_arn": arn,
                              "task_object_s3_uri": record.task_object_s3_uri, "updated_at": record.updated_at})
    _publish_requested(record, ports, decision.normalised_score)
    if forecast_pk is not None and ports.state.get_subject(forecast_pk).resolved:
        # Both sides write then read the subject: if the outcome's pass missed this loop, this sees it.
        _close_prediction(policy, subject.event_id, ports.state.get_subject(forecast_pk), ports)
    return Outcome.STARTED


def seconds_to_next_minute(moment: datetime) -> int:
    """How long a deferred candidate waits: to the next minute's ceiling, at least 1 s.

    >>> seconds_to_next_minute(datetime(2026, 11, 22, 10, 0, 45, 500000))
    15
    """
    return max(1, 60 - moment.second)


def task_object_uri(bucket: str, name: str) -> str:
    """Where a prediction's own JSON lives (the `source-ref` of its manifest lines)."""
    return f"s3://{bucket}/tasks/{name}/prediction.json"


def ground_truth_part_uri(bucket: str, dataset: str, name: str) -> str:
    """The same part object a human answer of that prediction would be: one per prediction."""
    return f"s3://{bucket}/manifests/parts/{dataset}/{name}.jsonl"


def _close_prediction(policy: ReviewPolicy, event_id: str, known: SubjectState, ports: TriggerPorts, *,
                      task_uri: str | None = None) -> None:
    """Stop the prediction's loop if one runs, and write its ground-truth line when there is a label."""
    name = human_loop_name(event_id)
    record = ports.loops.get(name)
    if record is not None and known.label is not None:
        ports.loops.update(name, {"ground_truth_label": known.label})
    if record is not None and record.status is LoopStatus.IN_PROGRESS:
        ports.human_loops.stop(name)  # A2I then reports Stopped; the completion flow records it
    if known.label is None or known.observed_at is None or known.outcome_event_id is None:
        return  # resolved without a label (an expired battle): nothing to learn
    context = ManifestContext(human_loop_name=name, dataset=policy.dataset, task_type=policy.task_type,
                              source_ref=task_uri or task_object_uri(ports.bucket, name), classes=policy.classes,
                              image=False)
    line = ground_truth_line(context, known.label, known.observed_at, known.outcome_event_id)
    ports.storage.put_text(ground_truth_part_uri(ports.bucket, policy.dataset, name), join_lines([to_json_line(line)]))


def handle_outcome(event: AwsEvent, book: PolicyBook, ports: TriggerPorts) -> tuple[Outcome, int]:
    """An outcome event: record it under its subject (first one wins), close every prediction seen.

    Returns the outcome and how many predictions it closed.
    """
    envelope = Envelope.model_validate(event.detail)
    closed = 0
    for policy in book.for_outcome(event.source, event.detail_type):
        assert policy.outcome is not None  # noqa: S101 - for_outcome returns forecasts only
        pk = outcome_subject(policy, envelope.data)
        label = observed_label(policy.outcome, envelope.data)
        observed_at = envelope.occurred_at.isoformat(timespec="microseconds").replace("+00:00", "Z")
        known = ports.state.resolve_subject(pk, label=label, observed_at=observed_at,
                                            outcome_event_id=envelope.event_id)
        for event_id in sorted(known.predictions):
            _close_prediction(policy, event_id, known, ports)
            closed += 1
    return Outcome.OUTCOME_RECORDED, closed
