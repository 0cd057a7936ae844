"""Retraining reads the review manifests (issue 19 item 4), end to end on a small sample.

A simulated race (`sim-1`, what `make run` replays without the shared data) gives the battles;
human review's real handlers (against moto and the A2I emulator, as in the local cloud) receive a
`PitBattlePredicted` per (battle, lap) and the battle's `PitBattleResolved`, and write ground-truth
manifest parts; one prediction of another battle is answered by a person. Then
`python -m ml.f1.train --manifests s3://... --manifests-only` reads those parts, recomputes each
row's features from the race, and fits the swap classifier on them.
"""

from __future__ import annotations

import json

import boto3

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from ml.f1.dataset import race_state
from ml.f1.simulator import simulate_race
from ml.f1.train import main as train_main
from ml.manifests import labels, read_manifest_lines
from race_predictor.logic.f1.battles import BattleRules, derive_battles, prediction_laps
from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, REGION, LambdaContext, bridge_event, sqs_event

review_env = human_review_env.review_env

RACE = "sim-1"
PARTS = f"s3://{BUCKET}/manifests/parts/pit-battle-swap/"


def predicted(battle, lap: int, probability: float) -> dict:
    """PitBattlePredicted data as race_predictor publishes it (events/schemas/PitBattlePredicted.v1.json)."""
    return {"race_id": RACE, "season": 2024, "round": 1, "circuit": "sim", "battle_id": battle.battle_id, "lap": lap,
            "opened_lap": battle.opened_lap, "ahead_driver": battle.ahead, "behind_driver": battle.behind,
            "first_stopper": battle.first_stopper, "kind": battle.kind, "swap_probability": probability,
            "predicted_gap_s": 0.5, "confidence": round(abs(2 * probability - 1), 6), "model_version": "f1-test"}


def resolved(battle) -> dict:
    return {"race_id": RACE, "battle_id": battle.battle_id, "status": "resolved", "kind": battle.kind,
            "ahead_driver": battle.ahead, "behind_driver": battle.behind,
            "first_stopper": battle.first_stopper, "opened_lap": battle.opened_lap, "ended_lap": battle.resolved_lap,
            "swapped": battle.swapped, "gap_s": battle.gap_s, "last_swap_probability": 0.5, "model_version": "f1-test"}


def run(*events):
    assert handlers.trigger_handler(sqs_event(*events), LambdaContext()) == {"batchItemFailures": []}


def test_a_retrain_reads_the_manifest_lines_the_review_service_wrote(review_env, tmp_path, capsys):
    state = race_state(RACE, simulate_race(seed=1))
    battles = [b for b in derive_battles(state, BattleRules()) if b.status == "resolved"]
    swapped = [b for b in battles if b.swapped][:2]
    kept = [b for b in battles if not b.swapped][:2]
    assert swapped and kept, "the simulated race has battles of both outcomes"
    expected: dict[str, int] = {}
    for battle in swapped + kept:
        for lap in prediction_laps(state, battle, BattleRules())[:2]:
            event_id = f"f1:{RACE}:{battle.battle_id}:{lap}"
            run(bridge_event("PitBattlePredicted", predicted(battle, lap, 0.9), event_id=event_id))  # confident
            expected[f"{battle.battle_id}@{lap}"] = int(bool(battle.swapped))
        run(bridge_event("PitBattleResolved", resolved(battle), event_id=f"resolved:{battle.battle_id}"))
    # A person answers one prediction of a battle the world has not answered (yet).
    other = next(b for b in derive_battles(state, BattleRules()) if b.status == "expired")
    lap = prediction_laps(state, other, BattleRules())[0]
    run(bridge_event("PitBattlePredicted", predicted(other, lap, 0.52), event_id="f1:human"))  # unsure: a loop
    review_env.a2i.answer(human_loop_name("f1:human"), {"category": {"label": "positions-swapped"}})
    assert handlers.completion_handler(sqs_event(*review_env.status_changes()), LambdaContext()) == {
        "batchItemFailures": []}

    found = labels(read_manifest_lines(PARTS, s3=boto3.client("s3", region_name=REGION)), "pit-battle-swap")
    assert sorted(label.origin for label in found) == ["ground-truth"] * len(expected) + ["human"]

    out = tmp_path / "retrained"
    assert train_main(["--manifests", PARTS, "--manifests-only", "--out", str(out)]) == 0
    figures = json.loads((out / "retrain.json").read_text())
    assert figures["manifest_lines"] == len(expected) + 1
    assert figures["origins"] == {"ground-truth": len(expected), "human": 1}
    assert figures["rows"] == len(expected) + 1 and figures["skipped"] == {}
    assert figures["swapped_rows"] == sum(expected.values()) + 1  # the person said swapped
    assert figures["battles"] == len(swapped) + len(kept) + 1
    assert figures["model"] and (out / "f1_pit_battle_swap.xgb.json").stat().st_size > 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"] == figures["rows"]
