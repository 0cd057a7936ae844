"""Tracking records and the per-game state machine on hand-built sequences."""

from __future__ import annotations

import json

import pytest

from race_predictor.logic.nhl import detection
from race_predictor.logic.nhl.detection import GameState, StepOutput, apply_record, is_set
from race_predictor.models.nhl import (
    MalformedRecord,
    PredictRequest,
    RequestError,
    parse_record,
    parse_request,
)

G = "g1"
HOME_C, HOME_W, AWAY_C, AWAY_W, HOME_G = 11, 12, 21, 22, 19


def lineup() -> dict:
    players = [(HOME_C, "home", "C"), (HOME_W, "home", "L"), (HOME_G, "home", "G"),
               (AWAY_C, "away", "C"), (AWAY_W, "away", "R")]
    return {"type": "lineup", "game_id": G, "season": 20232024, "home_team": "BOS", "away_team": "MTL",
            "players": [{"player_id": p, "side": s, "position": pos, "shoots": "L"} for p, s, pos in players]}


def game(ts: int, event: str, **extra) -> dict:
    return {"type": "game", "game_id": G, "ts_ms": ts, "event": event, **extra}


def pos(ts: int, pid: int, x: float, y: float) -> dict:
    return {"type": "position", "game_id": G, "ts_ms": ts, "player_id": pid, "x_ft": x, "y_ft": y}


def run(records: list[dict], state: GameState | None = None) -> tuple[GameState, StepOutput]:
    state = state or GameState(game_id=G)
    out = StepOutput()
    for raw in records:
        apply_record(state, parse_record(raw), out)
    return state, out


def still(ts0: int, placements: dict[int, tuple[float, float]], seconds: float = 1.0) -> list[dict]:
    """Each player standing at his place, sampled every 100 ms."""
    return [pos(ts0 + k * 100, pid, x, y) for k in range(int(seconds * 10)) for pid, (x, y) in placements.items()]


def test_parse_rejects_bad_fields_by_name_without_echoing_values():
    with pytest.raises(MalformedRecord) as error:
        parse_record(json.dumps(pos(1, 5, 250.0, 3.0)))
    assert "x_ft" in str(error.value) and "250" not in str(error.value)
    with pytest.raises(MalformedRecord, match="winner_id"):
        parse_record(game(5, "faceoff", loser_id=3))
    with pytest.raises(MalformedRecord, match="not valid JSON"):
        parse_record(b"{not json")
    with pytest.raises(MalformedRecord, match="type"):
        parse_record({"type": "weather", "game_id": G})
    with pytest.raises(MalformedRecord, match="position.name: Extra inputs"):
        parse_record({**pos(1, 5, 1.0, 1.0), "name": "Secret Person"})


def test_whistle_forming_set_and_clock_start():
    state, out = run([lineup(), game(0, "period_start", period=1), game(500, "clock_start"),
                      *still(600, {HOME_C: (30, 10), AWAY_C: (-30, -10)}, 0.3)])
    assert state.phase == "in_play" and state.clock_running
    state, out = run([game(10_500, "whistle"), *still(10_600, {HOME_C: (60, 15), AWAY_C: (80, 25)}, 0.3)], state)
    assert state.phase == "forming" and state.dot == "end_+x_+y" and out.setups == []
    # Both takers just either side of the dot and still: set, one prediction.
    state, out = run(still(11_000, {HOME_C: (67, 22), AWAY_C: (71, 22), HOME_W: (55, 10), AWAY_W: (80, 35)}), state)
    assert state.phase == "set" and len(out.setups) == 1
    setup = out.setups[0]
    assert (setup.dot, setup.home_player_id, setup.away_player_id, setup.trigger) == ("end_+x_+y", HOME_C, AWAY_C, "set")
    # Home attacks +x in period 1: an end dot at +x is its offensive zone; clock ran 10 s.
    assert setup.situation.zone == "O" and setup.situation.seconds_elapsed == pytest.approx(10.0)
    # Facing +x, the home taker has the +y dot on his left (the away taker on his right).
    assert setup.situation.home_side == "L"
    state, _ = run([game(13_000, "faceoff", winner_id=AWAY_C, loser_id=HOME_C), game(13_000, "clock_start")], state)
    assert state.phase == "in_play"


def test_waive_out_predicts_again_and_a_pair_back_after_another_is_current_again():
    state, _ = run([lineup(), game(0, "period_start", period=1), game(100, "clock_start"), game(5000, "whistle")])
    state, out = run(still(5100, {HOME_C: (-2, 0), AWAY_C: (2, 0), HOME_W: (-15, 10)}), state)
    assert [s.home_player_id for s in out.setups] == [HOME_C]
    # HOME_C waved out: the winger comes in and settles at the dot.
    state, out = run(still(6200, {HOME_C: (-15, 10), AWAY_C: (2, 0), HOME_W: (-2, 0)}), state)
    assert [(s.home_player_id, s.trigger) for s in out.setups] == [(HOME_W, "taker_changed")]
    # Back to the first pair (issue 18.6): its prediction is current again, so it is triggered again,
    # once, under a new combination (the ledger must not take it for the first one).
    state, out = run(still(7300, {HOME_C: (-2, 0), AWAY_C: (2, 0), HOME_W: (-15, 10)}), state)
    assert [(s.home_player_id, s.trigger) for s in out.setups] == [(HOME_C, "taker_changed")]
    assert state.takers == (HOME_C, AWAY_C)
    assert len(set(state.predicted)) == 3
    # The same pair still standing there (jitter, more samples) is not a new prediction.
    state, out = run(still(8400, {HOME_C: (-2.3, 0.2), AWAY_C: (2, 0), HOME_W: (-15, 10)}), state)
    assert out.setups == []


def test_moving_players_are_not_set_and_goalie_never_takes():
    state, _ = run([lineup(), game(0, "period_start", period=1)])
    moving = [pos(1000 + k * 100, HOME_C, -2 + 1.5 * k, 0) for k in range(4)] + \
             [pos(1000 + k * 100, AWAY_C, 2, 0) for k in range(4)]
    state, out = run(moving, state)
    assert out.setups == []
    state, out = run(still(2000, {HOME_G: (-2, 0), AWAY_C: (2, 0), HOME_C: (-30, 10)}), state)
    assert out.setups == []


def test_goal_and_penalty_change_score_strength_and_start_a_new_faceoff():
    state, _ = run([lineup(), game(0, "period_start", period=2), game(100, "clock_start")])
    seq = state.faceoff_seq
    state, _ = run([game(2000, "goal", home_score=1, away_score=0)], state)
    assert (state.home_score, state.phase, state.faceoff_seq) == (1, "stoppage", seq + 1)
    state, _ = run([game(2500, "whistle")], state)  # same stoppage: still the same face-off
    assert state.faceoff_seq == seq + 1
    state, _ = run([game(3000, "clock_start"), game(4000, "penalty", home_skaters=4, away_skaters=5)], state)
    assert (state.home_skaters, state.away_skaters, state.phase) == (4, 5, "stoppage")
    state, out = run(still(4100, {HOME_C: (-71, -22), AWAY_C: (-67, -22)}), state)
    # Period 2: home attacks -x, so the -x end is offensive for home.
    assert out.setups[0].situation.zone == "O" and out.setups[0].situation.home_skaters == 4
    assert out.setups[0].situation.score_diff == 1
    state, _ = run([game(6000, "clock_start"), game(9000, "penalty_end", home_skaters=5, away_skaters=5)], state)
    assert (state.home_skaters, state.phase) == (5, "in_play")


def test_set_rule_cutoffs_are_the_fitted_constants():
    d, v = detection.SET_DISTANCE_FT, detection.SET_SPEED_FPS
    assert is_set(d, d, v, v)
    assert not is_set(d + 0.01, 0.5, 0.0, 0.0)
    assert not is_set(0.5, 0.5, 0.0, v + 0.01)


def test_faceoff_result_names_home_and_away():
    state, out = run([lineup(), game(0, "period_start", period=1),
                      game(10, "faceoff", winner_id=AWAY_C, loser_id=HOME_C)])
    (result,) = out.results
    assert (result.home_player_id, result.away_player_id, result.home_won) == (HOME_C, AWAY_C, False)


def test_game_id_may_be_the_nhls_integer_id():
    # Issue 18 item 7: the NHL's own game ids are integers; they are kept as their decimal text.
    record = parse_record({"type": "game", "game_id": 2023020001, "ts_ms": 0, "event": "whistle"})
    assert record.game_id == "2023020001"
    body = {"home_player_id": 1, "away_player_id": 2, "zone": "N", "period": 1, "seconds_elapsed": 0.0,
            "home_skaters": 5, "away_skaters": 5}
    assert parse_request(PredictRequest, {**body, "game_id": 2023020001}).game_id == "2023020001"
    for bad in (True, -5, 1.5):  # a boolean, a negative or a fractional number is not a game id
        with pytest.raises(RequestError, match="game_id"):
            parse_request(PredictRequest, {**body, "game_id": bad})
        with pytest.raises(MalformedRecord, match="game_id"):
            parse_record({"type": "game", "game_id": bad, "ts_ms": 0, "event": "whistle"})
