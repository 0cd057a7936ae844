"""Property-based checks of the face-off state machine over arbitrary record sequences."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from race_predictor.logic.nhl.detection import (
    DOTS,
    MAX_SETUPS_PER_STOPPAGE,
    GameState,
    StepOutput,
    apply_record,
)
from race_predictor.models.nhl import parse_record
from tests.hypothesis_profiles import examples

PLAYERS = {11: "home", 12: "home", 21: "away", 22: "away"}
LINEUP = {"type": "lineup", "game_id": "p", "season": 20232024, "home_team": "HOM", "away_team": "AWY",
          "players": [{"player_id": pid, "side": side, "position": "C", "shoots": "L"} for pid, side in PLAYERS.items()]}

events = st.sampled_from(["whistle", "clock_start", "goal", "penalty", "penalty_end", "faceoff", "period_start"])
near_dot = st.tuples(st.sampled_from(list(DOTS.values())), st.floats(-6, 6), st.floats(-6, 6))


@st.composite
def sequences(draw):
    records, ts = [LINEUP], 0
    for _ in range(draw(st.integers(1, 60))):
        ts += draw(st.integers(1, 400))
        if draw(st.booleans()):
            event = draw(events)
            extra = {"goal": {"home_score": draw(st.integers(0, 5)), "away_score": draw(st.integers(0, 5))},
                     "penalty": {"home_skaters": 4, "away_skaters": 5},
                     "penalty_end": {"home_skaters": 5, "away_skaters": 5},
                     "faceoff": {"winner_id": 11, "loser_id": 21}}.get(event, {})
            records.append({"type": "game", "game_id": "p", "ts_ms": ts, "event": event, **extra})
        else:
            for pid in PLAYERS:
                (x, y), dx, dy = draw(near_dot)
                records.append({"type": "position", "game_id": "p", "ts_ms": ts, "player_id": pid,
                                "x_ft": x + dx, "y_ft": y + dy})
    return records


def run(records):
    state, out = GameState(game_id="p"), StepOutput()
    phases = []
    for raw in records:
        before = state.phase
        count = len(out.setups)
        apply_record(state, parse_record(raw), out)
        if len(out.setups) > count:
            phases.append(before)
    return state, out, phases


@settings(max_examples=examples(150), deadline=None)
@given(sequences())
def test_no_combination_twice_and_only_during_stoppages(records):
    state, out, phases = run(records)
    keys = [s.combination for s in out.setups]
    assert len(keys) == len(set(keys))
    # A pair is predicted again only after another one came between (A -> B -> A, issue 18.6).
    for before, after in zip(out.setups, out.setups[1:], strict=False):
        if before.faceoff_seq == after.faceoff_seq:
            assert before.pair != after.pair and after.setup_index == before.setup_index + 1
    per_stoppage: dict[int, int] = {}
    for setup in out.setups:
        per_stoppage[setup.faceoff_seq] = per_stoppage.get(setup.faceoff_seq, 0) + 1
    assert all(n <= MAX_SETUPS_PER_STOPPAGE for n in per_stoppage.values())
    assert all(phase in ("stoppage", "forming", "set") for phase in phases)
    for setup in out.setups:
        assert PLAYERS[setup.home_player_id] == "home" and PLAYERS[setup.away_player_id] == "away"


@settings(max_examples=examples(100), deadline=None)
@given(sequences())
def test_state_survives_a_round_trip_through_storage(records):
    half = len(records) // 2
    state, out, _ = run(records[:half])
    restored = GameState.model_validate(state.model_dump(mode="json"))
    rest = StepOutput()
    for raw in records[half:]:
        apply_record(restored, parse_record(raw), rest)
    whole, all_out, _ = run(records)
    assert restored == whole
    assert out.setups + rest.setups == all_out.setups
