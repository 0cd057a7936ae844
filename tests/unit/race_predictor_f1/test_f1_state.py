"""Applying messages is idempotent by seq and independent of order; the state survives its JSON."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from race_predictor.logic.f1.battles import derive_battles
from race_predictor.logic.f1.state import RaceState, apply_messages
from race_predictor.models.f1 import parse_message
from tests.hypothesis_profiles import examples
from tests.unit.race_predictor_f1.f1_builders import undercut_race

MESSAGES = [parse_message(m) for m in undercut_race().messages]


def canonical(state: RaceState) -> str:
    return json.dumps(state.to_json(), sort_keys=True)


def applied(messages) -> RaceState:
    state = RaceState("r1")
    apply_messages(state, list(messages))
    return state


REFERENCE = canonical(applied(MESSAGES))


@settings(max_examples=examples(60), deadline=None)
@given(st.permutations(MESSAGES), st.lists(st.sampled_from(MESSAGES), max_size=30))
def test_any_order_with_any_duplicates_gives_the_same_state(order, repeats):
    state = RaceState("r1")
    # split into several batches, as a feed retrying and reordering would send them
    middle = len(order) // 2
    apply_messages(state, order[:middle] + repeats)
    apply_messages(state, order[middle:] + repeats)
    assert canonical(state) == REFERENCE
    assert derive_battles(state) == derive_battles(applied(MESSAGES))


def test_duplicates_are_reported_and_change_nothing():
    state = applied(MESSAGES)
    accepted, duplicates = apply_messages(state, MESSAGES[:5])
    assert accepted == [] and duplicates == [m.seq for m in MESSAGES[:5]]
    assert canonical(state) == REFERENCE


def test_a_correction_with_a_higher_seq_wins_in_either_order():
    first = parse_message({"seq": 10, "type": "lap_completed", "driver": "AAA", "lap": 1, "position": 2,
                           "lap_time_ms": 91000, "race_time_ms": 91000})
    fixed = parse_message({"seq": 11, "type": "lap_completed", "driver": "AAA", "lap": 1, "position": 1,
                           "lap_time_ms": 90000, "race_time_ms": 90000})
    one, two = applied([first, fixed]), applied([fixed, first])
    assert canonical(one) == canonical(two)
    assert one.lap("AAA", 1).position == 1


def test_track_status_of_a_lap_is_its_most_severe_and_current_is_the_latest():
    statuses = [parse_message({"seq": s, "type": "track_status", "lap": 3, "status": st_})
                for s, st_ in ((5, "safety_car"), (6, "green"), (4, "yellow"))]
    state = applied(reversed(statuses))
    assert state.lap_status(3) == "safety_car" and state.current_status() == "green"
    assert state.lap_status(4) == "green"


def test_json_round_trip_keeps_everything():
    state = applied(MESSAGES)
    state.predicted.add("L5-AAA-BBB@5")
    state.predictions["L5-AAA-BBB"] = {"lap": 5}
    again = RaceState.from_json(json.loads(json.dumps(state.to_json())))
    assert canonical(again) == canonical(state)
