"""What detection tells the face-off setup review (issue 19.2), and the broadcast feed's rule (issue 18.8)."""

from __future__ import annotations

import random

from race_predictor.logic.nhl import detection
from race_predictor.logic.nhl.detection import (
    SET_RULES,
    GameState,
    Rostered,
    StepOutput,
    apply_position,
    apply_record,
    detection_confidence,
    nearest_takers,
)
from race_predictor.models.nhl import PositionRecord


def position(player: int, ts_ms: int, x: float, y: float) -> PositionRecord:
    return PositionRecord(type="position", game_id="g", ts_ms=ts_ms, player_id=player, x_ft=x, y_ft=y)


def stopped_game(tracking: str = "league") -> GameState:
    state = GameState(game_id="g", phase="stoppage", tracking=tracking)  # type: ignore[arg-type]
    state.roster = {"1": Rostered(side="home", position="C", shoots="L"),
                    "2": Rostered(side="away", position="C", shoots="L"),
                    "3": Rostered(side="home", position="L", shoots="L"),
                    "4": Rostered(side="away", position="G", shoots="L")}
    return state


def test_a_setup_carries_the_rule_inputs_its_confidence_and_every_player_seen():
    state, out = stopped_game(), StepOutput()
    for ts in range(0, 1000, 100):
        for record in (position(3, ts, -30.0, 10.0), position(4, ts, 85.0, 0.0), position(1, ts, -1.5, 0.0),
                       position(2, ts, 1.5, 0.0)):
            apply_record(state, record, out)
    [setup] = out.setups
    seen = setup.detection
    assert seen is not None and seen.tracking == "league"
    assert seen.max_distance_ft == 1.5 and seen.max_speed_fps < 1
    assert sorted((p.player_id, p.side, p.x_ft) for p in seen.players) == [
        (1, "home", -1.5), (2, "away", 1.5), (3, "home", -30.0), (4, "away", 85.0)]
    # distance margin 1 - 1.5/3.95 = 0.62; speed ~1; leads: home 1 - 1.5/31.6, away has no other skater
    assert 0.6 < seen.confidence < 0.63


def test_a_team_mate_as_close_to_the_dot_as_the_taker_makes_detection_unsure():
    state = stopped_game()
    for record in (position(1, 0, -1.5, 0.0), position(2, 0, 1.5, 0.0), position(3, 0, -1.0, 1.2)):
        apply_position(state, record)
    found = nearest_takers(state, 0)
    assert found is not None
    assert detection_confidence(state, 0, found[0], found) < 0.1


def test_the_broadcast_rule_reads_a_jittering_player_standing_still_as_still():
    # A foot of jitter (sd 0.7 ft per axis) every 100 ms, the player not moving: over one sample
    # that is ~10 ft/s.
    noise = random.Random(7)
    track = [(step * 100, noise.gauss(0, 0.7), noise.gauss(0, 0.7)) for step in range(60)]
    speeds: dict[str, list[float]] = {}
    for tracking in ("league", "broadcast"):
        state = stopped_game(tracking)
        speeds[tracking] = []
        for ts, x, y in track:
            apply_position(state, position(1, ts, x, y))
            speeds[tracking].append(state.skaters["1"].speed_fps)
    assert SET_RULES["broadcast"].velocity_baseline_ms >= 500
    league, broadcast = max(speeds["league"][10:]), max(speeds["broadcast"][10:])
    assert broadcast < league / 2, (broadcast, league)


def test_the_service_starts_games_with_its_feeds_rule():
    from race_predictor.logic.nhl.service import NhlService

    assert NhlService.__dataclass_fields__["tracking"].default == "league"
    assert detection.GameState(game_id="x").tracking == "league"
