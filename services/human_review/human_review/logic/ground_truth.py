"""Ground truth closes forecasts (issue 19 item 1): when the world answers a prediction, its pending
human loop is stopped and one manifest line per prediction records the observed label.

A forecast's subject (a pit battle, a face-off) is named by the same values in the prediction and in
its outcome (`ReviewPolicy.subject_fields`, `OutcomeRule.subject_fields`). The state table keeps per
subject the predictions seen and the first outcome; both sides write then read that one item, so
whichever arrives second sees the other: a prediction after its outcome is closed on arrival, an
outcome twice writes the same line again (same object, same bytes). Pure: the caller stores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from human_review.logic.manifests import ManifestContext, creation_date
from human_review.logic.policies import OutcomeRule, ReviewPolicy, lookup

GROUND_TRUTH = "ground-truth"


class SubjectState(BaseModel):
    """What the state table knows of one forecast subject."""

    model_config = ConfigDict(frozen=True)

    predictions: frozenset[str] = frozenset()  # event ids of the predictions seen
    resolved: bool = False
    label: str | None = None  # the observed class; None when resolved without one (expired)
    observed_at: str | None = None  # the outcome's occurred_at (ISO 8601), the lines' creation-date
    outcome_event_id: str | None = None


def _subject_values(data: Mapping[str, Any], fields: tuple[str, ...], what: str) -> list[str]:
    values = []
    for path in fields:
        value = lookup(data, path)
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise ValueError(f"{what}.{path}: missing, or not a string or integer")
        values.append(str(value))
    return values


def subject_pk(policy: ReviewPolicy, values: list[str]) -> str:
    """State-table key of a subject: readable prefix + digest of the exact values (≤ 2 KB keys)."""
    digest = hashlib.sha256(json.dumps(values).encode()).hexdigest()[:32]
    return f"subject#{policy.name}#{digest}"


def prediction_subject(policy: ReviewPolicy, data: Mapping[str, Any]) -> str:
    return subject_pk(policy, _subject_values(data, policy.subject_fields, "data"))


def outcome_subject(policy: ReviewPolicy, data: Mapping[str, Any]) -> str:
    assert policy.outcome is not None  # noqa: S101 - only forecast policies reach here
    return subject_pk(policy, _subject_values(data, policy.outcome.subject_fields, "data"))


def observed_label(rule: OutcomeRule, data: Mapping[str, Any]) -> str | None:
    """The class the outcome observed, or None when it observed none (e.g. `swapped: null`).

    >>> rule = OutcomeRule(source="s", detail_type="D", subject_fields=("id",), label_field="swapped",
    ...                    labels={"true": "positions-swapped", "false": "position-kept"})
    >>> observed_label(rule, {"swapped": True}), observed_label(rule, {"swapped": None})
    ('positions-swapped', None)
    """
    value = lookup(data, rule.label_field)
    if value is None:
        return None
    key = value if isinstance(value, str) else json.dumps(value)
    if key not in rule.labels:
        raise ValueError(f"data.{rule.label_field}: not one of the outcome's known values")
    return rule.labels[key]


def ground_truth_line(context: ManifestContext, label: str, observed_at: str, outcome_event_id: str) -> dict[str, Any]:
    """One augmented-manifest line with the observed label: the classification line's shape, with
    `human-annotated: no` and `source: ground-truth` (confidence 1: the world, not a vote)."""
    if not context.source_ref:
        raise ValueError("ground truth needs the prediction's source-ref")
    ids = {name: index for index, name in enumerate(context.classes)}
    if label not in ids:
        raise ValueError("label: not one of the policy's classes")
    return {
        "source-ref": context.source_ref,
        context.dataset: ids[label],
        f"{context.dataset}-metadata": {
            "class-name": label,
            "confidence": 1,
            "type": "groundtruth/text-classification",
            "human-annotated": "no",
            "source": GROUND_TRUTH,
            "creation-date": creation_date(datetime.fromisoformat(observed_at.replace("Z", "+00:00"))),
            "job-name": f"{GROUND_TRUTH}/{outcome_event_id}"[:256],
        },
    }
