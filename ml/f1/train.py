"""Train, evaluate and export the F1 pit-battle models (swap probability and gap at resolution).

    .venv/bin/python -m ml.f1.train --data ../shared/data/f1
    .venv/bin/python -m ml.f1.train --manifests s3://<review bucket>/manifests/parts/pit-battle-swap/ [--manifests-only]

Trains XGBoost on 2019-2022, evaluates on the held-out 2023 season (AUC, Brier, log loss,
calibration, gap MAE and share within +/-1 s, both baselines with a battle-level bootstrap CI of
the Brier difference), exports both models to ONNX with onnxmltools, checks ONNX Runtime against
native XGBoost, and writes the artifacts the service ships plus `ml/f1/artifacts/metrics.json`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "services" / "race_predictor"), str(REPO / "shared")]

from ml.f1 import race_data  # noqa: E402
from ml.f1.dataset import Examples, pit_loss_table, race_examples, race_state  # noqa: E402
from race_predictor.logic.f1.battles import BattleRules  # noqa: E402
from race_predictor.logic.f1.features import FEATURE_NAMES  # noqa: E402

MODELS_DIR = REPO / "services" / "race_predictor" / "race_predictor" / "artifacts"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
TRAIN_SEASONS = range(2019, 2023)
HOLDOUT = 2023
SEED = 7
CLASSIFIER_PARAMS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.03, "max_depth": 3,
                                     "min_child_weight": 5, "subsample": 0.8, "colsample_bytree": 0.8,
                                     "reg_lambda": 2.0}
# base_score 0: ONNX Runtime adds the base value after the trees, XGBoost before them; with 0 the
# float32 sums run in the same order and the two agree exactly instead of to ~1e-5 s.
REGRESSOR_PARAMS: dict[str, Any] = {**CLASSIFIER_PARAMS, "objective": "reg:pseudohubererror", "huber_slope": 2.0,
                                    "base_score": 0.0}


def build(data_dir: Path) -> tuple[Examples, Examples, dict[str, float]]:
    data = race_data.load(data_dir)
    states = {}
    for season, round_ in race_data.available_races(data, list(TRAIN_SEASONS) + [HOLDOUT]):
        states[(season, round_)] = race_state(f"{season}-{round_}", race_data.race_messages(data, season, round_))
    pit_loss = pit_loss_table(state for (season, _), state in states.items() if season in TRAIN_SEASONS)
    train, test = Examples(), Examples()
    for (season, round_), state in states.items():
        (test if season == HOLDOUT else train).extend(race_examples(state, pit_loss, season, f"{season}-{round_}"))
    return train, test, pit_loss


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        mask = (p >= low) & ((p < high) if high < 1.0 else (p <= high))
        if mask.sum() == 0:
            continue
        table.append({"bin": f"{low:.1f}-{high:.1f}", "n": int(mask.sum()),
                      "mean_predicted": round(float(p[mask].mean()), 3), "observed": round(float(y[mask].mean()), 3)})
    return table


def bootstrap_brier_difference(y: np.ndarray, p_model: np.ndarray, p_base: np.ndarray, groups: list[str],
                               resamples: int = 2000) -> dict[str, float]:
    """95% CI of Brier(model) - Brier(baseline), resampling whole battles (rows of one battle are
    correlated, so resampling rows would give too narrow an interval)."""
    rng = np.random.default_rng(SEED)
    keys = sorted(set(groups))
    index = {key: i for i, key in enumerate(keys)}
    group_of_row = np.array([index[g] for g in groups])
    loss_diff = (p_model - y) ** 2 - (p_base - y) ** 2
    sums = np.bincount(group_of_row, weights=loss_diff, minlength=len(keys))
    counts = np.bincount(group_of_row, minlength=len(keys)).astype(float)
    draws = rng.integers(0, len(keys), size=(resamples, len(keys)))
    estimates = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    return {"difference": round(float(loss_diff.mean()), 5),
            "ci_low": round(float(np.quantile(estimates, 0.025)), 5),
            "ci_high": round(float(np.quantile(estimates, 0.975)), 5)}


def export_onnx(model: Any, path: Path) -> None:
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    onnx_model = convert_xgboost(model, initial_types=[("features", FloatTensorType([None, len(FEATURE_NAMES)]))],
                                 target_opset=15)
    path.write_bytes(onnx_model.SerializeToString())


def retrain_from_manifests(location: str, data_dir: Path | None, out: Path, *, s3: Any = None) -> int:
    """Fit the swap classifier on the manifest rows alone (a quick retrain: `make run`, the tests);
    writes `out/f1_pit_battle_swap.xgb.json` and `out/retrain.json` (figures), never the shipped model."""
    import xgboost as xgb

    from ml.f1.manifest_training import manifest_rows, race_messages_source

    rows = manifest_rows(location, race_messages_source(data_dir if data_dir and data_dir.exists() else None), s3=s3)
    x, y = np.asarray(rows.examples.rows, dtype=np.float32), np.asarray(rows.examples.swapped)
    figures: dict[str, Any] = {"manifest_lines": rows.read, "origins": rows.origins, "rows": len(y),
                               "battles": rows.examples.resolved_battles, "swapped_rows": int(y.sum()) if len(y) else 0,
                               "skipped": rows.skipped, "model": None}
    if len(set(y.tolist())) == 2:
        classifier = xgb.XGBClassifier(**CLASSIFIER_PARAMS, n_jobs=1, random_state=SEED, eval_metric="logloss")
        classifier.fit(x, y)
        out.mkdir(parents=True, exist_ok=True)
        model_path = out / "f1_pit_battle_swap.xgb.json"
        classifier.save_model(model_path)
        figures["model"] = str(model_path)
        figures["train_log_loss"] = round(float(np.mean(-np.log(np.clip(np.where(
            y == 1, classifier.predict_proba(x)[:, 1], classifier.predict_proba(x)[:, 0]), 1e-6, 1)))), 4)
    else:
        figures["not_fitted"] = "the manifest rows hold one class only"
    out.mkdir(parents=True, exist_ok=True)
    (out / "retrain.json").write_text(json.dumps(figures, indent=1) + "\n")
    print(json.dumps(figures))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "f1")
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--manifests", default=None,
                        help="review manifests (s3://bucket/prefix or a local path): their labelled predictions "
                             "join the training set (issue 19; see ml/f1/manifest_training.py)")
    parser.add_argument("--manifests-only", action="store_true",
                        help="train on the manifest rows alone and write the model to --out (not the shipped one)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "retrained")
    args = parser.parse_args(argv)
    if args.manifests and args.manifests_only:
        return retrain_from_manifests(args.manifests, args.data, args.out)
    if not (args.data / "ergast" / "lap_times_2019_2023.csv").exists():  # the full training needs the data
        parser.error(f"no F1 data under {args.data}")

    import onnxruntime as ort
    import xgboost as xgb
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    train, test, pit_loss = build(args.data)
    if args.manifests:
        from ml.f1.manifest_training import manifest_rows, race_messages_source

        extra = manifest_rows(args.manifests, race_messages_source(args.data), pit_loss=pit_loss)
        print(f"manifests: {extra.read} lines ({extra.origins}), {len(extra.examples.swapped)} rows added, "
              f"skipped {extra.skipped}")
        train.extend(extra.examples)
    x_train, x_test = np.asarray(train.rows, dtype=np.float32), np.asarray(test.rows, dtype=np.float32)
    y_train, y_test = np.asarray(train.swapped), np.asarray(test.swapped)
    g_train, g_test = np.asarray(train.gap_s), np.asarray(test.gap_s)
    print(f"train: {len(y_train)} rows from {train.resolved_battles} resolved battles "
          f"({train.expired_battles} expired); test 2023: {len(y_test)} rows, {test.resolved_battles} battles")

    classifier = xgb.XGBClassifier(**CLASSIFIER_PARAMS, n_jobs=2, random_state=SEED, eval_metric="logloss")
    classifier.fit(x_train, y_train)
    regressor = xgb.XGBRegressor(**REGRESSOR_PARAMS, n_jobs=2, random_state=SEED)
    regressor.fit(x_train, g_train)

    p_model = classifier.predict_proba(x_test)[:, 1]
    p_base = np.full_like(p_model, y_train.mean())
    gap_column = FEATURE_NAMES.index("gap_before_s")
    logistic = LogisticRegression().fit(x_train[:, [gap_column]], y_train)
    p_logistic = logistic.predict_proba(x_test[:, [gap_column]])[:, 1]
    gap_pred = regressor.predict(x_test)
    opening = np.asarray(test.laps_since_open) == 0

    def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
        return {"auc": round(float(roc_auc_score(y, p)), 4), "brier": round(brier(y, p), 4),
                "log_loss": round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6))), 4)}

    metrics: dict[str, Any] = {
        "train_rows": len(y_train), "train_battles": train.resolved_battles, "train_expired": train.expired_battles,
        "test_rows": len(y_test), "test_battles": test.resolved_battles, "test_expired": test.expired_battles,
        "train_swap_rate": round(float(y_train.mean()), 4), "test_swap_rate": round(float(y_test.mean()), 4),
        "model": scores(y_test, p_model),
        "model_at_opening": scores(y_test[opening], p_model[opening]),
        "base_rate": {"brier": round(brier(y_test, p_base), 4),
                      "log_loss": round(float(log_loss(y_test, p_base)), 4)},
        "gap_only_logistic": scores(y_test, p_logistic),
        "brier_vs_base_rate": bootstrap_brier_difference(y_test, p_model, p_base, test.battle_keys),
        "brier_vs_gap_logistic": bootstrap_brier_difference(y_test, p_model, p_logistic, test.battle_keys),
        "calibration": calibration_table(y_test, p_model),
        "gap_mae_s": round(float(np.mean(np.abs(gap_pred - g_test))), 3),
        "gap_within_1s": round(float(np.mean(np.abs(gap_pred - g_test) <= 1.0)), 4),
        "gap_mae_at_opening_s": round(float(np.mean(np.abs(gap_pred[opening] - g_test[opening]))), 3),
        "gap_baseline_median_mae_s": round(float(np.mean(np.abs(np.median(g_train) - g_test))), 3),
        "pit_loss_circuits": len(pit_loss),
    }

    args.models.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    swap_path, gap_path = args.models / "f1_pit_battle_swap.onnx", args.models / "f1_pit_battle_gap.onnx"
    export_onnx(classifier, swap_path)
    export_onnx(regressor, gap_path)
    classifier.save_model(ARTIFACTS / "f1_pit_battle_swap.xgb.json")
    regressor.save_model(ARTIFACTS / "f1_pit_battle_gap.xgb.json")
    digest = hashlib.sha256(swap_path.read_bytes() + gap_path.read_bytes()).hexdigest()[:8]
    rules = BattleRules()
    manifest = {
        "model_version": f"f1-pit-battle-1.0-{digest}",
        "trained_on": [min(TRAIN_SEASONS), max(TRAIN_SEASONS)],
        "feature_names": list(FEATURE_NAMES),
        "rules": {"max_gap_s": rules.max_gap_s, "window_laps": rules.window_laps},
        "models": {"swap": swap_path.name, "gap": gap_path.name},
        "pit_loss_by_circuit": pit_loss,
    }
    (args.models / "f1_pit_battle.json").write_text(json.dumps(manifest, indent=1) + "\n")

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    swap_session = ort.InferenceSession(str(swap_path), options, providers=["CPUExecutionProvider"])
    gap_session = ort.InferenceSession(str(gap_path), options, providers=["CPUExecutionProvider"])
    onnx_p = swap_session.run(None, {"features": x_test})[1][:, 1]
    onnx_gap = gap_session.run(None, {"features": x_test})[0].reshape(-1)
    metrics["onnx_max_abs_diff_swap"] = float(np.max(np.abs(onnx_p - p_model)))
    metrics["onnx_max_abs_diff_gap"] = float(np.max(np.abs(onnx_gap - gap_pred)))
    metrics["model_version"] = manifest["model_version"]
    (ARTIFACTS / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps({k: v for k, v in metrics.items() if k != "calibration"}, indent=1))
    for row in metrics["calibration"]:
        print(f"  {row['bin']}: n={row['n']:4d} predicted={row['mean_predicted']:.3f} observed={row['observed']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
