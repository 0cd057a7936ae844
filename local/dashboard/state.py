"""Folds Pitwall events into what each dashboard panel shows. Pure: no I/O, no clock.

The state only ever holds what the events carry (ids, labels, scores, counts); the PII panel's
sample record is read from the redacted bucket by the feed, never from an event.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_BATTLES = 6
MAX_LOOPS = 6
MAX_FACEOFFS = 8


@dataclass
class DashboardState:
    """Everything the page shows, per panel; `version` grows with every change."""

    version: int = 0
    battles: dict[str, dict[str, Any]] = field(default_factory=dict)
    faceoff: dict[str, Any] | None = None
    faceoffs: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_FACEOFFS))
    pii: dict[str, Any] = field(default_factory=lambda: {
        "records": 0, "batches": 0, "by_result": {}, "entities": {}, "sample": None, "first_at": None, "last_at": None})
    review: dict[str, Any] = field(default_factory=lambda: {"open": {}, "completed": [], "drift": []})
    cost: dict[str, Any] = field(default_factory=lambda: {
        "usage": {}, "recommendations": {}, "characters": 0, "billed_units": 0})
    counts: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        battles = sorted(self.battles.values(), key=lambda b: (b.get("resolved") is True, -_number(b["lap"])))[:MAX_BATTLES]
        return {
            "version": self.version,
            "battles": battles,
            "faceoff": self.faceoff,
            "faceoffs": list(self.faceoffs),
            "pii": self.pii,
            "review": {"open": list(self.review["open"].values())[-MAX_LOOPS:],
                       "completed": self.review["completed"][-MAX_LOOPS:], "drift": self.review["drift"][-4:]},
            "cost": self.cost,
            "counts": self.counts,
        }


def _number(value: Any) -> float:
    """A field an event says is a number, for sorting only (0 when it is not one)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def apply_event(state: DashboardState, detail_type: str, detail: dict[str, Any]) -> bool:
    """Fold one event into `state`; return whether anything shown changed."""
    data = detail.get("data") or {}
    reducer = _REDUCERS.get(detail_type)
    state.counts[detail_type] = state.counts.get(detail_type, 0) + 1
    if reducer is not None:
        reducer(state, data, detail)
    state.version += 1
    return True


def _pit_battle(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    battle_id = f"{data['race_id']}/{data['battle_id']}"
    battle = state.battles.setdefault(battle_id, {"history": []})
    battle.update({
        "race_id": data["race_id"], "circuit": data.get("circuit"), "season": data.get("season"),
        "battle_id": data["battle_id"], "lap": data["lap"], "opened_lap": data["opened_lap"],
        "ahead": data["ahead_driver"], "behind": data["behind_driver"], "first_stopper": data["first_stopper"],
        "kind": data["kind"], "swap_probability": data["swap_probability"],
        "predicted_gap_s": data["predicted_gap_s"], "confidence": data.get("confidence"),
    })
    battle["history"] = [*battle["history"], {"lap": data["lap"], "p": data["swap_probability"]}][-20:]
    outcome = data.get("outcome")
    if isinstance(outcome, dict):
        battle["resolved"] = True
        battle["outcome"] = outcome


def _pit_battle_resolved(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    battle = state.battles.get(f"{data.get('race_id')}/{data.get('battle_id')}")
    if battle is not None:
        battle["resolved"] = True
        battle["outcome"] = data


def _faceoff(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    state.faceoff = dict(data)
    state.faceoffs.appendleft({k: data.get(k) for k in (
        "game_id", "dot", "home_player_id", "away_player_id", "home_player_name", "away_player_name",
        "home_win_probability", "trigger")})


def _pii_report(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    pii = state.pii
    pii["batches"] += 1
    records = data["records"]
    pii["records"] += int(records["total"])
    for result in ("ok", "dropped", "processing_failed", "masked_uninspected"):
        pii["by_result"][result] = pii["by_result"].get(result, 0) + int(records.get(result, 0))
    for entity, count in data.get("entities", {}).items():
        pii["entities"][entity] = pii["entities"].get(entity, 0) + int(count)
    moment = detail.get("occurred_at")
    pii["first_at"] = pii["first_at"] or moment
    pii["last_at"] = moment


def _usage(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    for line in data.get("usage", []):
        api = line["api"]
        totals = state.cost["usage"].setdefault(api, {"requests": 0, "characters": 0, "billed_units": 0})
        for key in totals:
            totals[key] += int(line.get(key, 0))
        state.cost["characters"] += int(line.get("characters", 0))
        state.cost["billed_units"] += int(line.get("billed_units", 0))


def _rightsizing(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    state.cost["recommendations"][data["endpoint_name"]] = {
        key: (str(value) if isinstance(value, Decimal) else value) for key, value in data.items()}


def _review_requested(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    state.review["open"][data["human_loop_name"]] = {k: data.get(k) for k in (
        "human_loop_name", "reason", "detail_type", "model_id", "predicted_label", "normalised_score", "task_type")}


def _review_completed(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    state.review["open"].pop(data["human_loop_name"], None)
    state.review["completed"].append({k: data.get(k) for k in (
        "human_loop_name", "status", "predicted_label", "corrected_label", "label_changed",
        "manifest_part_s3_uri", "manifest_line")})


def _drift(state: DashboardState, data: dict[str, Any], detail: dict[str, Any]) -> None:
    state.review["drift"].append(dict(data))


_REDUCERS = {
    "PitBattlePredicted": _pit_battle,
    "PitBattleResolved": _pit_battle_resolved,
    "FaceoffPredicted": _faceoff,
    "PiiRedactionReport": _pii_report,
    "ComprehendUsage": _usage,
    "EndpointRightsizingRecommended": _rightsizing,
    "HumanReviewRequested": _review_requested,
    "HumanReviewCompleted": _review_completed,
    "PredictionDriftDetected": _drift,
}
