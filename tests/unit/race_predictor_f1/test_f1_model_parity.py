"""The shipped tree models (ml/export_trees.py) give the same predictions as the native XGBoost
models they were exported from, on random rows with missing values and on a hand-built race:
swap probability to 1e-6, gap to 1e-5 s (XGBoost sums its trees in float32 in its own order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.f1.dataset import race_examples, race_state
from race_predictor.logic.f1.features import FEATURE_NAMES
from race_predictor.logic.f1.predictor import MANIFEST, TreePitBattlePredictor
from tests.unit.race_predictor_f1.f1_builders import undercut_race

xgb = pytest.importorskip("xgboost", reason="xgboost is a development dependency (requirements/dev.in)")
ARTIFACTS = Path(__file__).resolve().parents[3] / "ml" / "f1" / "artifacts"


def native_models():
    classifier, regressor = xgb.XGBClassifier(), xgb.XGBRegressor()
    classifier.load_model(ARTIFACTS / "f1_pit_battle_swap.xgb.json")
    regressor.load_model(ARTIFACTS / "f1_pit_battle_gap.xgb.json")
    classifier.set_params(n_jobs=1)
    regressor.set_params(n_jobs=1)
    return classifier, regressor


def random_rows(count: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    scales = np.array([2, 15, 4, 1, 1, 10, 1, 40, 2, 2, 30, 30, 30, 2, 30, 5, 50, 5, 5, 3, 30, 30, 30])
    rows = rng.normal(size=(count, len(FEATURE_NAMES))) * scales
    rows[rng.random(rows.shape) < 0.15] = np.nan  # missing values take the trees' default branches
    return rows.astype(np.float32)


def test_manifest_matches_the_feature_contract():
    predictor = TreePitBattlePredictor.load()
    assert predictor.feature_names == list(FEATURE_NAMES)
    assert predictor.version.startswith("f1-pit-battle-") and MANIFEST.exists()
    assert predictor.bundle.manifest["rules"] == {"max_gap_s": 3.0, "window_laps": 8}


def test_shipped_trees_match_native_xgboost():
    classifier, regressor = native_models()
    predictor = TreePitBattlePredictor.load()
    rows = random_rows(2000)
    state = race_state("r1", undercut_race().messages)
    hand = np.asarray(race_examples(state, predictor.pit_loss_by_circuit, 2023, "x").rows, dtype=np.float32)
    rows = np.vstack([rows, hand])
    shipped = np.asarray(predictor.predict(rows.tolist()))
    assert np.max(np.abs(shipped[:, 0] - classifier.predict_proba(rows)[:, 1])) <= 1e-6
    assert np.max(np.abs(shipped[:, 1] - regressor.predict(rows))) <= 1e-5
    # and the models are not constant: the check above could not pass by accident
    assert np.std(shipped[:, 0]) > 0.05 and np.std(shipped[:, 1]) > 0.5
