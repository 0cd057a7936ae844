"""Trains, scores on the held-out latest season and ships the NHL face-off model, writing metrics for the card.

One run does the whole procedure of `ml/nhl/MODEL_CARD.md`:
1. replay every face-off of shared/data in order (`dataset.replay`): each example sees only earlier
   face-offs; the latest season (2023-24, October-November) is the hold-out;
2. fit LightGBM on the seasons before it (rounds by early stopping on 2021-22, the last of them);
3. score the hold-out replayed in order through the service's own `/faceoffs/predict` and
   `/faceoffs/results` logic (`NhlService.predict` / `record_result`, player stats loaded as the
   loader leaves them before 2023-24, results fed back), beside the constant and one-feature
   logistic baselines on the same face-offs, with game-bootstrap intervals;
4. refit on every season (hold-out included) with the same settings and ship it; the manifest's
   model_version and metrics.json carry the shipped trees' hash.

    nice -n 10 .venv/bin/python -m ml.nhl.train --data ../shared/data/nhl
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from ml import export_trees
from ml.nhl import _paths  # noqa: F401
from ml.nhl.dataset import HOLDOUT_SEASON, examples_frame, replay
from ml.nhl.replay import Faceoff, replay_faceoffs
from race_predictor.logic.nhl.features import FEATURE_NAMES

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "services" / "race_predictor" / "race_predictor" / "artifacts"
MANIFEST_NAME = "nhl_faceoff.json"
TREES_NAME = "nhl_faceoff.trees.json"
NATIVE_PATH = Path(__file__).resolve().parent / "nhl_faceoff_lgbm.txt"
METRICS_PATH = Path(__file__).resolve().parent / "metrics.json"
MODEL_NAME = "nhl-faceoff-rating-2"
EARLY_STOP_SEASON = 20212022
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 3,
    "min_data_in_leaf": 800,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 10.0,
    "num_threads": 2,
    "seed": 7,
    "verbose": -1,
}


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |mean predicted - observed| over deciles of the prediction, weighted by size."""
    return float(sum(row["n"] * abs(row["mean_predicted"] - row["observed"]) for row in calibration_table(y, p, bins))
                 / len(y))


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Predicted against observed home-win rate in deciles of the prediction."""
    order = np.argsort(p, kind="stable")
    out = []
    for b, index in enumerate(np.array_split(order, bins)):
        out.append({"bin": b, "n": int(len(index)), "mean_predicted": float(p[index].mean()),
                    "observed": float(y[index].mean())})
    return out


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {"log_loss": float(log_loss(y, p, labels=[0, 1])), "auc": float(roc_auc_score(y, p)),
            "brier": float(brier_score_loss(y, p)), "calibration_error": calibration_error(y, p),
            "n": int(len(y)), "base_rate": float(y.mean())}


def game_bootstrap(y: np.ndarray, predictions: dict[str, np.ndarray], games: np.ndarray, rounds: int = 1000,
                   seed: int = 11) -> dict[str, dict[str, list[float]]]:
    """95% intervals of each model's scores and of the log-loss gains over the baselines, resampling whole games."""
    codes, game_index = np.unique(games, return_inverse=True)
    members = [np.flatnonzero(game_index == g) for g in range(len(codes))]
    rng = np.random.default_rng(seed)
    draws: dict[str, dict[str, list[float]]] = {name: {"log_loss": [], "auc": [], "calibration_error": []}
                                                for name in predictions}
    gains: dict[str, list[float]] = {f"model_minus_{name}": [] for name in predictions if name != "model"}
    for _ in range(rounds):
        index = np.concatenate([members[g] for g in rng.integers(0, len(codes), size=len(codes))])
        losses = {}
        for name, p in predictions.items():
            losses[name] = log_loss(y[index], p[index], labels=[0, 1])
            draws[name]["log_loss"].append(losses[name])
            draws[name]["auc"].append(roc_auc_score(y[index], p[index]) if name != "constant" else 0.5)
            draws[name]["calibration_error"].append(calibration_error(y[index], p[index]))
        for name in predictions:
            if name != "model":
                gains[f"model_minus_{name}"].append(losses["model"] - losses[name])
    out: dict[str, dict[str, list[float]]] = {
        name: {metric: [float(v) for v in np.quantile(values, [0.025, 0.975])] for metric, values in metric_draws.items()}
        for name, metric_draws in draws.items()}
    out["log_loss_difference"] = {name: [float(v) for v in np.quantile(values, [0.025, 0.975])]
                                  for name, values in gains.items()}
    return out


def ship_bundle(booster: lgb.Booster, folder: Path) -> str:
    """Write the native model, its trees and the manifest to `folder`; return the model_version."""
    from race_predictor.logic.nhl.predictor import artifact_hash

    folder.mkdir(parents=True, exist_ok=True)
    native = folder / "native.txt"
    booster.save_model(str(native))
    document = export_trees.export(native)
    parity = export_trees.max_abs_difference(native, document, export_trees.random_rows(5000, len(FEATURE_NAMES)))
    if parity > 1e-5:
        raise SystemExit(f"exported trees differ from LightGBM by {parity:.3g}")
    (folder / TREES_NAME).write_text(json.dumps(document, separators=(",", ":")))
    manifest = {"model_version": "", "features": list(FEATURE_NAMES), "models": {"home_win": TREES_NAME},
                "trained_on": "NHL play-by-play 2007-08..2023-24 (see ml/nhl/MODEL_CARD.md)"}
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    manifest["model_version"] = f"{MODEL_NAME}-{artifact_hash(folder / MANIFEST_NAME)}"
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return str(manifest["model_version"])


def api_replay(manifest: Path, data_dir: Path, faceoffs: list[Faceoff]) -> np.ndarray:
    """The hold-out through the service's own predict + record_result, stats loaded as the loader does."""
    from ml.nhl.load_player_stats import player_records
    from race_predictor.logic.nhl.predictor import FaceoffModel
    from race_predictor.logic.nhl.service import NhlService
    from race_predictor.logic.nhl.stats import InMemoryPlayerStats
    from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore
    from race_predictor.models.nhl import PredictRequest, ResultRequest, parse_request

    stats = InMemoryPlayerStats()
    stats.load_all(player_records(data_dir, until_season=HOLDOUT_SEASON))
    service = NhlService(store=InMemoryStateStore(), ledger=InMemoryLedger(), publisher=None, stats=stats,
                         model=FaceoffModel(manifest))

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/faceoffs/predict":
            return service.predict(parse_request(PredictRequest, body))
        return service.record_result(parse_request(ResultRequest, body))  # type: ignore[arg-type]

    return np.asarray(replay_faceoffs(post, faceoffs))


CARD_PATH = Path(__file__).resolve().parent / "MODEL_CARD.md"
CARD_BEGIN, CARD_END = "<!-- figures: written by ml/nhl/train.py -->", "<!-- end of figures -->"


def card_figures(report: dict[str, Any]) -> str:
    """The card's figures section, from the run's report (so card, metrics and artifact agree)."""
    holdout, intervals = report["holdout"], report["holdout_intervals_95"]
    lines = [f"Hold-out: season {report['holdout_season']} (October-November 2023, the latest in shared/data), "
             f"{report['examples']['test']:,} face-offs with a known situation, replayed in order through "
             f"`/faceoffs/predict` + `/faceoffs/results` logic with every result fed back; trained on "
             f"{report['examples']['train']:,} examples of earlier seasons. Model `{report['holdout_model_version']}` "
             f"(the shipped one's procedure, without the hold-out). 95% intervals: 1,000 bootstrap resamples of "
             f"whole games.", "",
             "| predictor | log loss | AUC | calibration error | Brier |", "|---|---|---|---|---|"]
    for name in ("model", "constant", "one_feature_logistic"):
        scores, ci = holdout[name], intervals[name]
        lines.append(f"| {name} | {scores['log_loss']:.4f} [{ci['log_loss'][0]:.4f}, {ci['log_loss'][1]:.4f}] "
                     f"| {scores['auc']:.4f} [{ci['auc'][0]:.4f}, {ci['auc'][1]:.4f}] "
                     f"| {scores['calibration_error']:.4f} [{ci['calibration_error'][0]:.4f}, "
                     f"{ci['calibration_error'][1]:.4f}] | {scores['brier']:.4f} |")
    same = report["holdout_same_features_logistic"]
    lines += ["", f"Logistic regression on the same features (offline, for comparison): log loss {same['log_loss']:.4f}, "
              f"AUC {same['auc']:.4f}, calibration error {same['calibration_error']:.4f}.", ""]
    for name, (low, high) in intervals["log_loss_difference"].items():
        lines.append(f"- log loss, {name.replace('_', ' ')}: "
                     f"{holdout['model']['log_loss'] - holdout[name.removeprefix('model_minus_')]['log_loss']:+.4f} "
                     f"[{low:+.4f}, {high:+.4f}]")
    lines += [f"- the API replay and the offline features agree to {report['holdout_api_vs_offline_max_abs_diff']:.1g} "
              f"(the API rounds to 6 decimals)", "",
              "Calibration on the hold-out (deciles of the published prediction):", "",
              "| decile | n | mean predicted | observed |", "|---|---|---|---|"]
    lines += [f"| {row['bin']} | {row['n']} | {row['mean_predicted']:.3f} | {row['observed']:.3f} |"
              for row in report["calibration_holdout"]]
    gain = report["feature_importance_gain"]
    total = sum(gain.values())
    lines += ["", "Shipped model's gain share: " + ", ".join(
        f"{name} {value / total:.0%}" for name, value in sorted(gain.items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines)


def write_card(report: dict[str, Any]) -> None:
    text = CARD_PATH.read_text()
    head, rest = text.split(CARD_BEGIN, 1)
    _, tail = rest.split(CARD_END, 1)
    title = f"# Model card: NHL face-off win probability (`{report['model_version']}`)"
    head = "\n".join([title, *head.splitlines()[1:]]) + "\n"
    CARD_PATH.write_text(f"{head}{CARD_BEGIN}\n{card_figures(report)}\n{CARD_END}{tail}")


def fit(frame_x: Any, y: Any, rounds: int) -> lgb.Booster:
    return lgb.train(PARAMS, lgb.Dataset(frame_x, y), num_boost_round=rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhl")
    args = parser.parse_args()

    state = replay(args.data)
    frame = examples_frame(state)
    features = list(FEATURE_NAMES)
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    early_train, early_valid = train[train["season"] < EARLY_STOP_SEASON], train[train["season"] == EARLY_STOP_SEASON]
    early = lgb.train(PARAMS, lgb.Dataset(early_train[features], early_train["home_won"]), num_boost_round=2000,
                      valid_sets=[lgb.Dataset(early_valid[features], early_valid["home_won"])],
                      callbacks=[lgb.early_stopping(100, verbose=False)])
    rounds = max(early.best_iteration, 50)
    booster = fit(train[features], train["home_won"], rounds)

    # The hold-out, as the service publishes it.
    faceoffs = state.holdout_sequence
    y = test["home_won"].to_numpy().astype(float)
    with tempfile.TemporaryDirectory() as folder:
        holdout_version = ship_bundle(booster, Path(folder))
        p_api = api_replay(Path(folder) / MANIFEST_NAME, args.data, faceoffs)
    p_offline = np.asarray(booster.predict(test[features]))
    baseline_x = (test["base_home_career"] - test["base_away_career"]).to_numpy()[:, None]
    one_feature = LogisticRegression().fit((train["base_home_career"] - train["base_away_career"]).to_numpy()[:, None],
                                           train["home_won"])
    same_features = LogisticRegression(C=10.0, max_iter=1000).fit(train[features], train["home_won"])
    predictions = {"model": p_api, "constant": np.full(len(y), train["home_won"].mean()),
                   "one_feature_logistic": one_feature.predict_proba(baseline_x)[:, 1]}
    games = test["game_id"].to_numpy()

    shipped = fit(frame[frame["split"].isin(["train", "test"])][features],
                  frame[frame["split"].isin(["train", "test"])]["home_won"], rounds)
    version = ship_bundle(shipped, MODEL_DIR)
    (MODEL_DIR / "native.txt").replace(NATIVE_PATH)
    report = {
        "model_version": version,
        "artifact_sha256_prefix": version.rsplit("-", 1)[1],
        "holdout_model_version": holdout_version,
        "holdout_season": HOLDOUT_SEASON,
        "rounds": rounds,
        "params": PARAMS,
        "examples": {"train": len(train), "test": len(test)},
        "holdout": {name: scores(y, p) for name, p in predictions.items()},
        "holdout_same_features_logistic": scores(y, same_features.predict_proba(test[features])[:, 1]),
        "holdout_api_vs_offline_max_abs_diff": float(np.abs(p_api - p_offline).max()),
        "holdout_intervals_95": game_bootstrap(y, predictions, games),
        "calibration_holdout": calibration_table(y, p_api),
        "feature_importance_gain": dict(zip(features, map(float, shipped.feature_importance("gain")), strict=True)),
    }
    METRICS_PATH.write_text(json.dumps(report, indent=2) + "\n")
    write_card(report)
    print(json.dumps({k: report[k] for k in ("model_version", "rounds", "examples", "holdout",
                                             "holdout_same_features_logistic", "holdout_api_vs_offline_max_abs_diff",
                                             "holdout_intervals_95")}, indent=2))


if __name__ == "__main__":
    main()
