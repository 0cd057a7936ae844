"""Detection must be right for every face-off of simulated games (dot, takers, every waive-out)."""

from __future__ import annotations

import pytest

from ml.nhl.simulator import simulate_game
from race_predictor.logic.nhl.detection import GameState, StepOutput, apply_record
from race_predictor.models.nhl import parse_record


@pytest.mark.parametrize("seed,noise", [(1, 0.1), (2, 0.25), (3, 0.4), (4, 0.25)])
def test_every_simulated_faceoff_is_detected_with_its_takers(seed: int, noise: float):
    game = simulate_game(f"sim-{seed}", seed=seed, noise_ft=noise, waive_out_rate=0.4)
    state, out = GameState(game_id=game.game_id), StepOutput()
    for raw in game.records:
        apply_record(state, parse_record(raw), out)
    assert len(game.faceoffs) == 24 and any(len(f.setups) > 1 for f in game.faceoffs)
    for faceoff in game.faceoffs:
        found = [(s.dot, s.home_player_id, s.away_player_id) for s in out.setups
                 if faceoff.start_ms <= s.ts_ms <= faceoff.drop_ms]
        assert found == [(faceoff.dot, home, away) for home, away in faceoff.setups]
    # Nothing detected outside stoppages, and every result reached the stats side.
    assert len(out.setups) == sum(len(f.setups) for f in game.faceoffs)
    assert [(r.home_won) for r in out.results] == [
        f.winner_id == (f.setups[-1][0]) for f in game.faceoffs]
