"""Training-set construction on a small hand-checked race, and (when the shared data is present)
the real-data translation into timing messages."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ml.f1.dataset import pit_loss_table, race_examples, race_state, stop_losses
from race_predictor.logic.f1.features import FEATURE_NAMES
from tests.unit.race_predictor_f1.f1_builders import undercut_race

DATA = Path(__file__).resolve().parents[4] / "shared" / "data" / "f1"


def column(rows, name):
    return [row[FEATURE_NAMES.index(name)] for row in rows]


def test_examples_of_the_hand_built_undercut():
    state = race_state("r1", undercut_race().messages)
    examples = race_examples(state, {"bahrain": 21.0}, 2023, "2023-1")
    assert examples.resolved_battles == 1 and examples.expired_battles == 0
    assert examples.swapped == [1, 1, 1] and examples.gap_s == [6.5, 6.5, 6.5]
    assert examples.battle_keys == ["2023-1/L5-AAA-BBB"] * 3 and examples.laps_since_open == [0, 1, 2]
    rows = examples.rows
    assert all(len(row) == len(FEATURE_NAMES) for row in rows)
    assert column(rows, "gap_before_s") == [1.0, 1.0, 1.0]
    # behind minus ahead after laps 5, 6, 7: 1.0 s, then BBB's 20 s out-lap, then 2.5 s back
    assert column(rows, "gap_now_s") == [1.0, 18.5, 16.0]
    assert column(rows, "behind_stopped_first") == [1.0, 1.0, 1.0]
    assert column(rows, "other_stopped") == [0.0, 0.0, 1.0]
    assert column(rows, "position_ahead") == [1.0, 1.0, 1.0]
    assert column(rows, "race_fraction") == [5 / 30] * 3 and column(rows, "laps_remaining") == [25, 24, 23]
    assert column(rows, "compound_ahead") == [1.0] * 3 and column(rows, "tyre_age_behind") == [4.0] * 3
    assert column(rows, "stint_ahead") == [4.0] * 3
    new_compound = column(rows, "first_new_compound")
    assert math.isnan(new_compound[0]) and new_compound[1:] == [2.0, 2.0]  # HARD, known from lap 6
    stop_s = column(rows, "first_stop_s")
    assert math.isnan(stop_s[0]) and stop_s[1:] == [22.0, 22.0]
    assert column(rows, "pace_delta_s") == [0.0] * 3
    assert column(rows, "pit_loss_s") == [21.0] * 3
    assert column(rows, "status_open") == [0.0] * 3 and column(rows, "neutralised_laps") == [0.0] * 3
    team_first = column(rows, "team_stop_s_first")
    assert math.isnan(team_first[0]) and team_first[1:] == [22.0, 22.0]


def test_pit_loss_of_the_hand_built_race():
    state = race_state("r1", undercut_race().messages)
    # BBB: 90.0 + 107.5 - 2 x 90.0 = 17.5 s; AAA: 90.0 + 110.0 - 2 x 90.0 = 20.0 s
    assert sorted(stop_losses(state)) == [17.5, 20.0]
    assert pit_loss_table([state, state]) == {"bahrain": 18.75}


@pytest.mark.skipif(not (DATA / "ergast").exists(), reason=f"shared F1 data not found at {DATA}")
def test_real_race_becomes_valid_messages_and_battles():
    from ml.f1 import race_data
    from race_predictor.logic.f1.battles import derive_battles
    from race_predictor.models.f1 import parse_batch

    data = race_data.load(DATA)
    messages = race_data.race_messages(data, 2023, 1)
    for start in range(0, len(messages), 500):
        parse_batch({"messages": messages[start:start + 500]})  # every message passes the contract
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    state = race_state("bahrain-2023", messages)
    assert state.info.circuit == "bahrain" and state.info.total_laps == 57
    # Ergast: VER's first stop was at the end of lap 14 (pit_stops.csv, raceId 1098)
    assert 14 in state.pit_laps("VER")
    battles = derive_battles(state)
    assert battles and all(b.gap_before_s <= 3.0 for b in battles)
