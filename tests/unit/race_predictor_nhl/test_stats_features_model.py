"""Player records and their update, the idempotent stats update, and the shipped trees' parity with LightGBM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from race_predictor.logic.nhl.features import (
    FEATURE_NAMES,
    RATING_PRIOR,
    RATING_STEP,
    RECENT_WINDOW,
    SEASON_DECAY,
    FaceoffSituation,
    PlayerFaceoffRecord,
    faceoff_features,
    rating_win_probability,
    record_faceoff,
    shrunk_rate,
)
from race_predictor.logic.nhl.predictor import FaceoffModel
from race_predictor.logic.nhl.service import NhlService
from race_predictor.logic.nhl.stats import InMemoryPlayerStats, VersionClash, apply_result, records_of
from race_predictor.models.nhl import ResultRequest
from tests.hypothesis_profiles import examples

ROOT = Path(__file__).resolve().parents[3]


def test_record_counts_career_season_recent_and_head_to_head():
    record = PlayerFaceoffRecord(player_id="1")
    for k in range(RECENT_WINDOW + 10):
        record.record_result(won=k % 2 == 0, opponent_id="2", season=20222023)
    record.record_result(won=True, opponent_id="3", season=20232024)
    assert (record.career_total, record.career_wins) == (RECENT_WINDOW + 11, (RECENT_WINDOW + 10) // 2 + 1)
    assert (record.season, record.season_total, record.season_wins) == (20232024, 1, 1)
    assert len(record.recent) == RECENT_WINDOW and record.recent.endswith("1")
    assert record.head_to_head == {"2": [(RECENT_WINDOW + 10) // 2, RECENT_WINDOW + 10], "3": [1, 1]}


def test_small_samples_are_shrunk_to_the_league_rate():
    assert shrunk_rate(0, 0, 100) == 0.5
    assert 0.5 < shrunk_rate(3, 3, 100) < 0.52
    assert shrunk_rate(600, 1000, 100) == pytest.approx(650 / 1100)
    home = PlayerFaceoffRecord(player_id="1", career_wins=600, career_total=1000, season=20232024,
                               season_wins=60, season_total=100)
    away = PlayerFaceoffRecord(player_id="2")
    row = faceoff_features(home, away, FaceoffSituation(zone="D", season=20232024, home_skaters=4))
    named = dict(zip(FEATURE_NAMES, row, strict=True))
    assert named["away_season_rate"] == 0.5 and named["zone"] == -1
    assert named["strength_diff"] == -1 and named["zone_x_strength"] == 1
    assert named["home_season_rate"] == pytest.approx((60 + 30) / 160)
    # Last season's record does not count as this season's.
    row = faceoff_features(home, away, FaceoffSituation(season=20242025))
    assert dict(zip(FEATURE_NAMES, row, strict=True))["home_season_rate"] == 0.5


def test_a_result_is_counted_once_even_if_delivered_twice():
    store = InMemoryPlayerStats()
    assert apply_result(store, result_id="g:1", home_id="1", away_id="2", home_won=True, season=20232024)
    assert not apply_result(store, result_id="g:1", home_id="1", away_id="2", home_won=True, season=20232024)
    apply_result(store, result_id="g:2", home_id="1", away_id="2", home_won=False, season=20232024)
    records = records_of(store, ["1", "2", "3"])
    assert (records["1"].career_wins, records["1"].career_total) == (1, 2)
    assert records["2"].head_to_head == {"1": [1, 2]}
    assert records["3"].career_total == 0


def test_ratings_move_by_surprise_decay_between_seasons_and_use_the_strong_side():
    home, away = PlayerFaceoffRecord(player_id="1"), PlayerFaceoffRecord(player_id="2")
    assert home.rating == away.rating == RATING_PRIOR
    p = rating_win_probability(home, away, 20232024, "L")
    record_faceoff(home, away, home_won=True, season=20232024, home_side="L")
    assert home.rating - RATING_PRIOR == pytest.approx(RATING_STEP * (1 - p))
    assert away.rating - RATING_PRIOR == pytest.approx(-RATING_STEP * (1 - p))
    # The home taker's left is the away taker's right: each side term moves for its own taker.
    assert home.side_left > 0 and home.side_right == 0 and away.side_right < 0 and away.side_left == 0
    # Two seasons later the rating has come back toward the prior by SEASON_DECAY twice.
    rating, left, _ = home.ratings_as_of(20252026)
    assert rating - RATING_PRIOR == pytest.approx((home.rating - RATING_PRIOR) * SEASON_DECAY**2)
    assert left == pytest.approx(home.side_left * SEASON_DECAY**2)
    named = dict(zip(FEATURE_NAMES, faceoff_features(home, away, FaceoffSituation(zone="O", season=20232024,
                                                                                   home_side="L")), strict=True))
    assert named["rating_diff"] > 0 and named["side_diff"] > 0
    assert dict(zip(FEATURE_NAMES, faceoff_features(home, away, FaceoffSituation(zone="N", season=20232024)),
                    strict=True))["side_diff"] == 0


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(["1", "2", "3", "4"]),
                          st.booleans(), st.sampled_from([20182019, 20212022, 20232024]),
                          st.sampled_from(["L", "R", None])), min_size=1, max_size=40))
def test_loader_and_results_route_reach_the_same_player_state(results):
    """Issue 18.5: the stats filled by the loader's replay equal those filled by /faceoffs/results."""
    results = sorted((r for r in results if r[0] != r[1]), key=lambda r: r[3])
    loaded: dict[str, PlayerFaceoffRecord] = {}
    store = InMemoryPlayerStats()
    service = NhlService(store=None, ledger=None, publisher=None, stats=store, model=None)
    for k, (home, away, home_won, season, side) in enumerate(results):
        record_faceoff(loaded.setdefault(home, PlayerFaceoffRecord(player_id=home)),
                       loaded.setdefault(away, PlayerFaceoffRecord(player_id=away)),
                       home_won=home_won, season=season, home_side=side)
        zone = "N" if side is None else "O"
        service.record_result(ResultRequest(home_player_id=int(home), away_player_id=int(away), zone=zone, period=1,
                                            seconds_elapsed=0, home_skaters=5, away_skaters=5, season=season,
                                            home_side=side, winner_id=int(home if home_won else away),
                                            result_id=f"r{k}"))
    assert {pid: item.record for pid, item in store.items.items()} == loaded


def test_a_concurrent_write_is_retried_not_lost():
    store = InMemoryPlayerStats()
    apply_result(store, result_id="a", home_id="1", away_id="2", home_won=True, season=1)
    real_put = store.put
    clashes = {"left": 1}

    def racing_put(player):
        if clashes["left"]:
            clashes["left"] -= 1
            apply_result(store, result_id="other", home_id="1", away_id="9", home_won=True, season=1)
            raise VersionClash(player.record.player_id)
        real_put(player)

    store.put = racing_put
    apply_result(store, result_id="b", home_id="1", away_id="2", home_won=True, season=1)
    assert records_of(store, ["1"])["1"].career_total == 3


def test_shipped_trees_match_native_lightgbm_to_1e6():
    lgb = pytest.importorskip("lightgbm", reason="lightgbm is a development dependency")
    booster = lgb.Booster(model_file=str(ROOT / "ml" / "nhl" / "nhl_faceoff_lgbm.txt"))
    rng = np.random.default_rng(3)
    n = 2000
    zone, strength = rng.integers(-1, 2, n), rng.integers(-2, 3, n)
    rows = np.column_stack([
        rng.normal(0, 0.4, n), rng.normal(0, 0.1, n), rng.normal(0, 0.3, n), rng.uniform(0, 9, n), rng.uniform(0, 9, n),
        rng.uniform(0.35, 0.65, n), rng.uniform(0.35, 0.65, n), zone, strength, zone * strength,
        rng.integers(-3, 4, n), rng.integers(1, 5, n)]).astype(np.float32)
    assert rows.shape[1] == len(FEATURE_NAMES)
    model = FaceoffModel()
    shipped = np.asarray(model.home_win_probabilities(rows.tolist()))
    native = booster.predict(rows.astype(np.float64))
    assert np.abs(shipped - native).max() < 1e-6
    assert model.model_calls == 1 and model.rows_scored == n
    # Cached: scoring the same rows again does not call the model.
    model.home_win_probabilities(rows[:10].tolist())
    assert model.model_calls == 1


def test_model_version_carries_the_shipped_trees_hash_and_a_mismatch_fails(tmp_path):
    """Issue 18.10: model_version ends with the SHA-256 prefix of the trees file it was loaded with."""
    import hashlib
    import json
    import shutil

    from race_predictor.logic.nhl.predictor import MANIFEST

    trees = MANIFEST.parent / json.loads(MANIFEST.read_text())["models"]["home_win"]
    digest = hashlib.sha256(trees.read_bytes()).hexdigest()[:8]
    assert FaceoffModel().version.endswith(f"-{digest}")
    # The same manifest beside other trees (a retrain exported without its manifest) is refused.
    shutil.copy(MANIFEST, tmp_path / MANIFEST.name)
    document = json.loads(trees.read_text())
    document["trees"] = document["trees"][:-1]
    (tmp_path / trees.name).write_text(json.dumps(document))
    with pytest.raises(RuntimeError, match="hash"):
        FaceoffModel(tmp_path / MANIFEST.name)
