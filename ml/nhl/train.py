"""Trains, evaluates and exports the NHL face-off model (home taker wins), writing metrics for the card.

Owns the LightGBM fit (early stopping on the last two months of 2019-20, then a refit on all of
2018-20), the held-out evaluation on the latest data (October 2021, October-November 2023), the two
baselines with a game-level bootstrap, the ONNX export and its parity check.

    .venv/bin/python -m ml.nhl.train --data ../shared/data/nhl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pandas as pd
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml.nhl import _paths  # noqa: F401
from ml.nhl.dataset import examples_frame, replay
from race_predictor.logic.nhl.features import FEATURE_NAMES

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "services" / "race_predictor" / "race_predictor" / "artifacts"
MODEL_PATH = MODEL_DIR / "nhl_faceoff.onnx"
META_PATH = MODEL_DIR / "nhl_faceoff.json"
METRICS_PATH = Path(__file__).resolve().parent / "metrics.json"
MODEL_VERSION = "nhl-faceoff-lgbm-1"
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 400,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "num_threads": 2,
    "seed": 7,
    "verbose": -1,
}


def metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"auc": float(roc_auc_score(y, p)), "brier": float(brier_score_loss(y, p)),
            "log_loss": float(log_loss(y, p)), "n": int(len(y)), "base_rate": float(y.mean())}


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Predicted against observed home-win rate in deciles of the prediction."""
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    return [{"bin": b, "n": int((index == b).sum()), "mean_predicted": float(p[index == b].mean()),
             "observed": float(y[index == b].mean())} for b in range(bins) if (index == b).any()]


def bootstrap_log_loss_gain(y: np.ndarray, p_model: np.ndarray, p_base: np.ndarray, games: np.ndarray,
                            rounds: int = 1000, seed: int = 11) -> dict[str, float]:
    """Baseline log loss minus the model's, with a 95% interval from resampling whole games."""
    eps = 1e-15

    def per_row(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, eps, 1 - eps)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))

    gain = per_row(p_base) - per_row(p_model)
    codes, game_index = np.unique(games, return_inverse=True)
    sums = np.bincount(game_index, weights=gain)
    counts = np.bincount(game_index)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(codes), size=(rounds, len(codes)))
    resampled = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    low, high = np.quantile(resampled, [0.025, 0.975])
    return {"mean_gain": float(gain.mean()), "ci95_low": float(low), "ci95_high": float(high)}


def export_onnx(booster: lgb.Booster, path: Path) -> None:
    onnx_model = convert_lightgbm(booster, initial_types=[("features", FloatTensorType([None, len(FEATURE_NAMES)]))],
                                  zipmap=False, target_opset=15)
    # The converter declares `label` as one element; with a batch ONNX Runtime then warns on every
    # call. Both outputs have one row per input row.
    label = next(output for output in onnx_model.graph.output if output.name == "label")
    label.type.tensor_type.shape.dim[0].ClearField("dim_value")
    label.type.tensor_type.shape.dim[0].dim_param = "N"
    path.write_bytes(onnx_model.SerializeToString())


def onnx_home_win(path: Path, rows: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    _, probabilities = session.run(None, {session.get_inputs()[0].name: rows.astype(np.float32)})
    return np.asarray(probabilities)[:, 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhl")
    args = parser.parse_args()

    frame = examples_frame(replay(args.data))
    features = list(FEATURE_NAMES)
    # The function feeds float32 to ONNX Runtime: train on the same float32 values so that tree
    # thresholds fall between representable inputs and both formats take the same branches.
    frame[features] = frame[features].astype(np.float32).astype(np.float64)
    train, valid, test = (frame[frame["split"] == s] for s in ("train", "valid", "test"))

    early = lgb.train(PARAMS, lgb.Dataset(train[features], train["home_won"]), num_boost_round=2000,
                      valid_sets=[lgb.Dataset(valid[features], valid["home_won"])],
                      callbacks=[lgb.early_stopping(100, verbose=False)])
    rounds = max(early.best_iteration, 50)
    fit = pd.concat([train, valid])
    booster = lgb.train(PARAMS, lgb.Dataset(fit[features], fit["home_won"]), num_boost_round=rounds)

    y = test["home_won"].to_numpy()
    p_model = np.asarray(booster.predict(test[features]))
    p_constant = np.full(len(y), fit["home_won"].mean())
    logistic = LogisticRegression().fit(fit[["base_home_career", "base_away_career"]], fit["home_won"])
    p_logistic = logistic.predict_proba(test[["base_home_career", "base_away_career"]])[:, 1]
    games = test["game_id"].to_numpy()

    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    export_onnx(booster, MODEL_PATH)
    p_onnx = onnx_home_win(MODEL_PATH, test[features].to_numpy())
    parity = float(np.abs(p_onnx - p_model).max())

    report = {
        "model_version": MODEL_VERSION,
        "rounds": rounds,
        "params": PARAMS,
        "examples": {s: int((frame["split"] == s).sum()) for s in ("train", "valid", "test")},
        "valid_early_stopping": metrics(valid["home_won"].to_numpy(),
                                        np.asarray(early.predict(valid[features], num_iteration=rounds))),
        "test": {"model": metrics(y, p_model), "constant_home_rate": metrics(y, p_constant),
                 "logistic_career_rates": metrics(y, p_logistic)},
        "log_loss_gain_vs_constant": bootstrap_log_loss_gain(y, p_model, p_constant, games),
        "log_loss_gain_vs_logistic": bootstrap_log_loss_gain(y, p_model, p_logistic, games),
        "calibration_test": calibration_table(y, p_model),
        "onnx_parity_max_abs_diff": parity,
        "feature_importance_gain": dict(zip(features, map(float, booster.feature_importance("gain")), strict=True)),
    }
    META_PATH.write_text(json.dumps({"model_version": MODEL_VERSION, "features": features,
                                     "models": {"home_win": MODEL_PATH.name},
                                     "trained_on": "NHL play-by-play 2007-08..2019-20 (see ml/nhl/MODEL_CARD.md)"},
                                    indent=2) + "\n")
    booster.save_model(str(Path(__file__).resolve().parent / "nhl_faceoff_lgbm.txt"))
    METRICS_PATH.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("rounds", "examples", "test", "log_loss_gain_vs_constant",
                                             "log_loss_gain_vs_logistic", "onnx_parity_max_abs_diff")},
                     indent=2))


if __name__ == "__main__":
    main()
