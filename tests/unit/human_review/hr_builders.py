"""Builders of the events and policies the human-review unit tests share."""

from __future__ import annotations

import json
from typing import Any

from human_review.logic.policies import PolicyBook, ReviewPolicy, load_policy_book
from human_review.settings import DEFAULT_POLICIES_FILE
from pitwall_shared.events import Envelope

FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/pitwall-review"


def envelope(data: dict[str, Any], event_id: str = "evt-1") -> Envelope:
    return Envelope.model_validate({"event_id": event_id, "correlation_id": f"corr-{event_id}",
                                    "occurred_at": "2026-11-22T10:00:00.000Z", "schema_version": "1",
                                    "data": data})


def faceoff_data(probability: float | None = 0.55, confidence: float | str = 0.55, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"game_id": "2023020001", "faceoff_seq": 17,
                            "dot": {"name": "center", "x_ft": 0.0, "y_ft": 0.0, "zone": "N"},
                            "home_player_id": 8478402, "away_player_id": 8471675, "confidence": confidence,
                            "model_version": "nhl-faceoff-1", "trigger": "set", "period": 1,
                            "seconds_elapsed": 0.0, "ts_ms": 0}
    if probability is not None:
        data["home_win_probability"] = probability
    return data | extra


def candidate_data(scores: list[float], scale: int = 100, policy: str = "custom-labels", **extra: Any) -> dict[str, Any]:
    return {"review_policy": policy, "model_id": "pit-objects-v3", "task_type": "object-detection",
            "task_object_s3_uri": "s3://frames/lap12/frame-0042.jpg", "score_scale": scale,
            "labels": [{"label": f"class-{index}", "score": score} for index, score in enumerate(scores)]} | extra


def book(**overrides: Any) -> PolicyBook:
    """The packaged policies, with keyword overrides applied to every policy."""
    items = [item | overrides for item in json.loads(DEFAULT_POLICIES_FILE.read_text())]
    return load_policy_book(items, FLOW)


def policy(name: str, **overrides: Any) -> ReviewPolicy:
    found = next(p for p in book().policies if p.name == name)
    return ReviewPolicy.model_validate(found.model_dump() | overrides)
