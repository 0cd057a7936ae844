"""The dashboard's reducer: each event type fills its panel, and only with what events carry."""

from __future__ import annotations

from local.dashboard.state import DashboardState, apply_event
from tests.contracts import validator


def assert_valid_data(detail_type, data):
    assert not list(validator(f"{detail_type}.v1").iter_errors(data))


def detail(data, occurred_at="2026-11-22T10:00:00.000Z"):
    return {"event_id": "e", "correlation_id": "c", "occurred_at": occurred_at, "schema_version": "1", "data": data}


BATTLE = {"race_id": "2023-1", "season": 2023, "round": 1, "circuit": "bahrain", "battle_id": "L14-SAI-LEC", "lap": 14,
          "opened_lap": 14, "ahead_driver": "LEC", "behind_driver": "SAI", "first_stopper": "SAI", "kind": "undercut",
          "swap_probability": 0.62, "predicted_gap_s": 0.8, "confidence": 0.24, "model_version": "f1-1"}


def test_battle_updates_keep_one_entry_with_a_probability_history():
    state = DashboardState()
    assert_valid_data("PitBattlePredicted", BATTLE)
    apply_event(state, "PitBattlePredicted", detail(BATTLE))
    apply_event(state, "PitBattlePredicted", detail(BATTLE | {"lap": 15, "swap_probability": 0.7}))
    battles = state.snapshot()["battles"]
    assert len(battles) == 1
    assert battles[0]["swap_probability"] == 0.7
    assert [h["p"] for h in battles[0]["history"]] == [0.62, 0.7]


def test_pii_report_accumulates_counts_and_entities():
    state = DashboardState()
    report = {"delivery_stream": "s", "invocation_id": "i", "fields_inspected": 18, "failure_reasons": {"not-json": 1},
              "records": {"total": 9, "ok": 8, "dropped": 0, "processing_failed": 1, "masked_uninspected": 0},
              "entities": {"EMAIL": 3, "NAME": 2}}
    assert_valid_data("PiiRedactionReport", report)
    apply_event(state, "PiiRedactionReport", detail(report))
    apply_event(state, "PiiRedactionReport", detail(report, "2026-11-22T10:00:05.000Z"))
    pii = state.snapshot()["pii"]
    assert pii["records"] == 18
    assert pii["entities"] == {"EMAIL": 6, "NAME": 4}
    assert pii["by_result"]["processing_failed"] == 2


def test_completed_loop_leaves_the_open_list():
    state = DashboardState()
    apply_event(state, "HumanReviewRequested", detail({"human_loop_name": "l1", "reason": "low_confidence"}))
    assert [loop["human_loop_name"] for loop in state.snapshot()["review"]["open"]] == ["l1"]
    apply_event(state, "HumanReviewCompleted", detail({"human_loop_name": "l1", "status": "Completed",
                                                         "corrected_label": "undercut_failed"}))
    review = state.snapshot()["review"]
    assert review["open"] == []
    assert review["completed"][0]["corrected_label"] == "undercut_failed"


def test_usage_and_recommendation_fill_the_cost_panel():
    state = DashboardState()
    apply_event(state, "ComprehendUsage", detail({"usage": [
        {"api": "ContainsPiiEntities", "requests": 2, "characters": 700, "billed_units": 8}]}))
    apply_event(state, "EndpointRightsizingRecommended", detail({"endpoint_name": "ep", "configured_inference_units": 4,
                                                                  "recommended_inference_units": 1}))
    cost = state.snapshot()["cost"]
    assert cost["billed_units"] == 8
    assert cost["recommendations"]["ep"]["recommended_inference_units"] == 1
