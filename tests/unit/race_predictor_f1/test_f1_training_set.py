"""Training-set construction on a small hand-checked race, and (when the shared data is present)
the real-data translation into timing messages."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ml.f1.dataset import pit_loss_table, race_examples, race_state, stop_losses
from race_predictor.logic.f1.features import FEATURE_NAMES
from tests.unit.race_predictor_f1.f1_builders import RaceScript, undercut_race

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
    assert column(rows, "gap_trend_s") == [0.0] * 3  # 1.0 s after laps 2 and 4
    assert column(rows, "gap_last_lap_s") == [0.0, 17.5, -2.5]
    # BBB crossed lap 4 at 361.0 s; rejoining 21 s later puts it at 382.0 s, and CCC crossed at
    # 370.0 s and 460.0 s: nobody within 2 s, nearest 12 s (capped at 10); opening lap only.
    assert column(rows, "rejoin_traffic")[0] == 0.0 and column(rows, "rejoin_clear_s")[0] == 10.0
    assert all(math.isnan(v) for v in column(rows, "rejoin_traffic")[1:] + column(rows, "rejoin_clear_s")[1:])
    assert column(rows, "status_at_stop") == [0.0] * 3 and column(rows, "neutralised_laps") == [0.0] * 3
    team_first = column(rows, "team_stop_s_first")
    assert math.isnan(team_first[0]) and team_first[1:] == [22.0, 22.0]


def test_traffic_where_the_first_stopper_rejoins():
    state = race_state("r1", undercut_race().messages)
    row = race_examples(state, {"bahrain": 9.0}, 2023, "2023-1").rows[0]
    # 361.0 s + 9.0 s = 370.0 s: exactly where CCC crossed the line
    assert row[FEATURE_NAMES.index("rejoin_traffic")] == 1.0 and row[FEATURE_NAMES.index("rejoin_clear_s")] == 0.0
    no_loss = race_examples(state, {}, 2023, "2023-1").rows[0]
    assert math.isnan(no_loss[FEATURE_NAMES.index("rejoin_traffic")])


def test_track_status_is_the_one_in_force_when_the_cars_crossed_the_line():
    """A safety car called after both cars finished lap 5 (BBB in the pits) is not the status of
    their stop, although the message names lap 5; it is the status of their lap-6 crossing."""
    race = RaceScript(drivers=("AAA", "BBB", "CCC"), start_offsets_ms={"AAA": 0, "BBB": 1000, "CCC": 10_000})
    race.laps(5)
    race.pit("BBB")
    race.add({"type": "track_status", "lap": 5, "status": "safety_car"})
    race.lap({"BBB": 107_500})
    race.add({"type": "track_status", "lap": 6, "status": "green"})
    race.lap({"BBB": 87_500})
    race.pit("AAA")
    race.lap({"BBB": 87_500, "AAA": 110_000})
    examples = race_examples(race_state("r1", race.messages), {}, 2023, "x")
    assert examples.laps_since_open == [0, 1, 2]
    rows = examples.rows
    assert column(rows, "status_before") == [0.0] * 3 and column(rows, "status_at_stop") == [0.0] * 3
    assert column(rows, "status_now") == [0.0, 3.0, 0.0]
    assert column(rows, "neutralised_laps") == [0.0, 1.0, 1.0]


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


@pytest.mark.skipif(not (DATA / "ergast").exists(), reason=f"shared F1 data not found at {DATA}")
def test_a_shortened_race_starts_with_its_scheduled_distance():
    from ml.f1 import race_data

    data = race_data.load(DATA)
    start = race_data.race_messages(data, 2022, 18)[0]  # Japanese GP: 28 of 53 laps run (rain)
    assert start["type"] == "race_start" and start["total_laps"] == 53
    assert race_data.race_messages(data, 2023, 1)[0]["total_laps"] == 57


@pytest.mark.skipif(not (DATA / "ergast").exists(), reason=f"shared F1 data not found at {DATA}")
def test_real_track_status_is_what_each_car_saw_crossing_the_line():
    """2023 Australia (safety cars, three red flags): the status in force at each car's crossing is
    the last one FastF1 lists for that car's lap, for (nearly) every car and lap."""
    from ml.f1 import race_data

    data = race_data.load(DATA)
    messages = race_data.race_messages(data, 2023, 3)
    state = race_state("aus", messages)
    laps = data.fastf1[(data.fastf1["year"] == 2023) & (data.fastf1["RoundNumber"] == 3)]
    checked = agree = 0
    for driver, lap, codes in zip(laps["Driver"], laps["LapNumber"], laps["TrackStatus"], strict=True):
        fact = state.lap(str(driver), int(lap)) if lap == lap else None
        expected = race_data._status_at_line(codes)
        if fact is None or expected is None:
            continue
        checked += 1
        agree += state.status_at(fact.seq) == expected
    assert checked > 700 and agree / checked > 0.99
    assert {m["status"] for m in messages if m["type"] == "track_status"} >= {"safety_car", "red_flag", "green"}
