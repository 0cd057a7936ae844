"""Ground truth closes forecasts (issue 19 item 1), against moto and the A2I emulator.

A resolved battle stops its pending loop and writes exactly one ground-truth line per prediction,
also when the outcome arrives twice or before the prediction; forecasts start no loop by default.
"""

from __future__ import annotations

import json

import boto3
import pytest

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from human_review.settings import DEFAULT_POLICIES_FILE
from tests.service import human_review_env
from tests.service.human_review_env import (
    BUCKET,
    REGION,
    LambdaContext,
    bridge_event,
    faceoff,
    pit_battle,
    sqs_event,
)

review_env = human_review_env.review_env


def run_trigger(*bodies):
    return handlers.trigger_handler(sqs_event(*bodies), LambdaContext())


def resolved(swapped: bool | None, *, status: str = "resolved") -> dict:
    """A PitBattleResolved payload (events/schemas/PitBattleResolved.v1.json) for pit_battle()'s battle."""
    return {"race_id": "2023-12", "battle_id": "L16-VER-NOR", "status": status, "kind": "undercut",
            "ahead_driver": "VER", "behind_driver": "NOR", "first_stopper": "NOR", "opened_lap": 16,
            "ended_lap": 19 if swapped is not None else None, "swapped": swapped,
            "gap_s": 1.2 if swapped is not None else None, "last_swap_probability": 0.52,
            "model_version": "f1-undercut-1"}


def parts(dataset: str = "pit-battle-swap") -> dict[str, str]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"manifests/parts/{dataset}/").get("Contents", [])]
    return {key: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode() for key in keys}


def test_a_resolved_battle_stops_its_loop_and_writes_one_ground_truth_line(review_env):
    assert run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="p-17")) == {"batchItemFailures": []}
    name = human_loop_name("p-17")
    assert review_env.a2i.loops[name].status == "InProgress"

    assert run_trigger(bridge_event("PitBattleResolved", resolved(True), event_id="r-1")) == {"batchItemFailures": []}
    assert review_env.a2i.loops[name].status in ("Stopping", "Stopped")
    [(key, text)] = parts().items()
    assert key == f"manifests/parts/pit-battle-swap/{name}.jsonl" and text.endswith("\n")
    line = json.loads(text)
    assert line["source-ref"] == f"s3://{BUCKET}/tasks/{name}/prediction.json"
    assert line["pit-battle-swap"] == 1
    meta = line["pit-battle-swap-metadata"]
    assert meta["class-name"] == "positions-swapped" and meta["source"] == "ground-truth"
    assert meta["human-annotated"] == "no" and meta["creation-date"] == "2026-11-22T10:00:00.000000"
    assert review_env.loop_item(name)["ground_truth_label"] == "positions-swapped"


def test_an_outcome_twice_writes_the_same_single_line(review_env):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="p-17"))
    run_trigger(bridge_event("PitBattleResolved", resolved(False), event_id="r-1"))
    first = parts()
    # Redelivered, and a second (contradicting) outcome event: the first outcome stands.
    assert run_trigger(bridge_event("PitBattleResolved", resolved(False), event_id="r-1"),
                       bridge_event("PitBattleResolved", resolved(True), event_id="r-2")) == {"batchItemFailures": []}
    assert parts() == first and len(first) == 1
    assert json.loads(next(iter(first.values())))["pit-battle-swap-metadata"]["class-name"] == "position-kept"


def test_an_outcome_before_the_prediction_closes_it_on_arrival(review_env):
    run_trigger(bridge_event("PitBattleResolved", resolved(True), event_id="r-1"))
    assert parts() == {}
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="late-17"))
    assert review_env.a2i.loops == {}  # nobody is asked what the world already answered
    assert list(parts()) == [f"manifests/parts/pit-battle-swap/{human_loop_name('late-17')}.jsonl"]


def test_one_line_per_prediction_of_the_battle(review_env):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.9, lap=17), event_id="p-17"),
                bridge_event("PitBattlePredicted", pit_battle(0.8, lap=18), event_id="p-18"))
    run_trigger(bridge_event("PitBattleResolved", resolved(True), event_id="r-1"))
    assert sorted(parts()) == sorted(f"manifests/parts/pit-battle-swap/{human_loop_name(e)}.jsonl"
                                     for e in ("p-17", "p-18"))


def test_an_expired_battle_stops_the_loop_and_writes_no_line(review_env):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="p-17"))
    run_trigger(bridge_event("PitBattleResolved", resolved(None, status="expired"), event_id="r-x"))
    assert review_env.a2i.loops[human_loop_name("p-17")].status in ("Stopping", "Stopped")
    assert parts() == {}


def test_a_human_answer_after_the_outcome_does_not_replace_the_ground_truth(review_env):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="p-17"))
    name = human_loop_name("p-17")
    run_trigger(bridge_event("PitBattleResolved", resolved(True), event_id="r-1"))
    before = parts()
    record = review_env.loop_item(name)
    from human_review.adapters.loops_table import LoopsTable
    from human_review.logic.completion import handle_status_change
    from human_review.models import HumanLoopStatusChange

    storage = handlers.service().completion.storage
    uri = f"s3://{BUCKET}/a2i-output/{name}/output.json"
    storage.put_text(uri, json.dumps({"flowDefinitionArn": record["flow_definition_arn"], "humanLoopName": name,
                                      "inputContent": {}, "humanAnswers": [{"answerContent": {"category": {
                                          "label": "position-kept"}}, "submissionTime": "2026-11-22T10:05:00Z"}]}))
    LoopsTable("loops").update(name, {"status": "InProgress"})
    change = HumanLoopStatusChange.model_validate({
        "humanLoopName": name, "humanLoopArn": record["human_loop_arn"], "humanLoopStatus": "Completed",
        "flowDefinitionArn": record["flow_definition_arn"], "humanLoopOutput": {"outputS3Uri": uri}})
    handle_status_change(change, handlers.service().book, handlers.service().completion)
    assert parts() == before


@pytest.fixture
def default_forecasts(monkeypatch):
    """The packaged policies as shipped (review_env opts the forecasts in; this undoes it)."""
    items = json.loads(DEFAULT_POLICIES_FILE.read_text())
    assert all("start_loops" not in item for item in items if "outcome" in item)  # no forecast opts in
    monkeypatch.delenv("REVIEW_POLICIES")
    handlers.service.cache_clear()


def test_forecast_policies_start_no_loop_by_default(review_env, default_forecasts):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="p-17"),  # confidence 0.04
                bridge_event("FaceoffPredicted", faceoff(0.55, 0.2), event_id="f-17"))  # confidence 0.2 < 0.6
    assert review_env.a2i.loops == {}
    run_trigger(bridge_event("PitBattleResolved", resolved(True), event_id="r-1"))
    assert list(parts()) == [f"manifests/parts/pit-battle-swap/{human_loop_name('p-17')}.jsonl"]


def test_a_faceoff_result_closes_the_faceoff_predictions(review_env):
    from tests.service.human_review_env import faceoff

    run_trigger(bridge_event("FaceoffPredicted", faceoff(0.55, 0.2), event_id="nhl:2023020001:17:a"))
    name = human_loop_name("nhl:2023020001:17:a")
    assert review_env.a2i.loops[name].status == "InProgress"
    result = {"game_id": "2023020001", "faceoff_seq": 17, "home_player_id": 8478402, "away_player_id": 8471675,
              "winner_id": 8471675, "home_won": False, "ts_ms": 1795309201000}
    assert run_trigger(bridge_event("FaceoffResolved", result, event_id="nhl:2023020001:result:17:1")) == {
        "batchItemFailures": []}
    assert review_env.a2i.loops[name].status in ("Stopping", "Stopped")
    [text] = parts("faceoff-winner").values()
    line = json.loads(text)
    assert line["faceoff-winner"] == 0 and line["faceoff-winner-metadata"]["class-name"] == "away-wins"
