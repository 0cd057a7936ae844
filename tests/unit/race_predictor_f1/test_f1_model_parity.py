"""The shipped tree models (ml/export_trees.py) give the same predictions as the native XGBoost
models they were exported from, on random rows with missing values and on a hand-built race:
probabilities to 1e-6, gap to 1e-5 s (XGBoost sums its trees in float32 in its own order); and the
predictor applies the manifest's calibration maps to the swap and resolve probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.f1.dataset import race_examples, race_state
from race_predictor.logic.f1.features import FEATURE_NAMES
from race_predictor.logic.f1.predictor import MANIFEST, TreePitBattlePredictor, calibrate
from tests.unit.race_predictor_f1.f1_builders import undercut_race

xgb = pytest.importorskip("xgboost", reason="xgboost is a development dependency (requirements/dev.in)")
NATIVE = Path(__file__).resolve().parents[3] / "ml" / "f1" / "artifacts" / "native"


def native(role: str):
    booster = xgb.Booster(model_file=str(NATIVE / f"f1_pit_battle_{role}.xgb.json"))
    booster.set_param({"nthread": 1})
    return booster


def random_rows(count: int) -> np.ndarray:
    rng = np.random.default_rng(42)
    scales = rng.choice([1, 3, 10, 30], size=len(FEATURE_NAMES))
    rows = rng.normal(size=(count, len(FEATURE_NAMES))) * scales
    rows[rng.random(rows.shape) < 0.15] = np.nan  # missing values take the trees' default branches
    return rows.astype(np.float32)


def test_manifest_matches_the_feature_contract():
    predictor = TreePitBattlePredictor.load()
    assert predictor.feature_names == list(FEATURE_NAMES)
    assert predictor.version.startswith("f1-pit-battle-2-") and MANIFEST.exists()
    assert predictor.bundle.manifest["rules"] == {"max_gap_s": 3.0, "window_laps": 8}
    assert set(predictor.bundle.models) - {"swap_opening"} == {"swap", "gap", "resolve"}


def test_shipped_trees_match_native_xgboost():
    predictor = TreePitBattlePredictor.load()
    state = race_state("r1", undercut_race().messages)
    hand = np.asarray(race_examples(state, predictor.pit_loss_by_circuit, 2023, "x").rows, dtype=np.float32)
    rows = np.vstack([random_rows(2000), hand])
    matrix = xgb.DMatrix(rows, missing=np.nan)
    for role in predictor.bundle.models:
        tolerance = 1e-5 if role == "gap" else 1e-6
        shipped = np.asarray(predictor.bundle.models[role].predict(rows.tolist()))
        assert np.max(np.abs(shipped - native(role).predict(matrix))) <= tolerance, role
        # and the model is not constant: the check above could not pass by accident
        assert np.std(shipped) > (0.5 if role == "gap" else 0.02), role


def test_predictions_are_the_calibrated_tree_outputs():
    predictor = TreePitBattlePredictor.load()
    rows = random_rows(300)
    rows[:100, FEATURE_NAMES.index("laps_since_open")] = 0.0  # opening-lap rows too
    rows = rows.tolist()
    raw_swap = predictor.bundle.models["swap"].predict(rows)
    raw_resolve = predictor.bundle.models["resolve"].predict(rows)
    out = predictor.predict(rows)
    cal = predictor.bundle.manifest["calibration"]
    if "swap_opening" in predictor.bundle.models:
        opening = predictor.bundle.models["swap_opening"].predict(rows)
        first = FEATURE_NAMES.index("laps_since_open")
        raw_swap = [o if row[first] == 0 else p for row, p, o in zip(rows, raw_swap, opening, strict=True)]
        expected = [calibrate(p, cal["swap_opening"] if row[first] == 0 else cal["swap"])
                    for row, p in zip(rows, raw_swap, strict=True)]
    else:
        expected = [calibrate(p, cal["swap"]) for p in raw_swap]
    assert [o[0] for o in out] == expected
    assert [o[2] for o in out] == [calibrate(p, cal["resolve"]) for p in raw_resolve]
    assert all(0.0 <= o[0] <= 1.0 and 0.0 <= o[2] <= 1.0 for o in out)


def test_calibration_maps():
    platt = {"kind": "platt", "a": 2.0, "b": 0.0}
    assert calibrate(0.5, platt) == pytest.approx(0.5) and calibrate(0.75, platt) == pytest.approx(0.9)
    iso = {"kind": "isotonic", "x": [0.1, 0.5, 0.9], "y": [0.2, 0.4, 0.8]}
    assert calibrate(0.0, iso) == 0.2 and calibrate(1.0, iso) == 0.8  # flat outside, as sklearn's clip
    assert calibrate(0.3, iso) == pytest.approx(0.3) and calibrate(0.7, iso) == pytest.approx(0.6)
    assert calibrate(0.42, None) == 0.42
