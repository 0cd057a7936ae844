"""Train, choose, calibrate and export the F1 pit-battle models (swap, resolve, gap).

    nice -n 10 .venv/bin/python -m ml.f1.train --data ../shared/data/f1 --holdout 2023   # the 2023 test
    nice -n 10 .venv/bin/python -m ml.f1.train --data ../shared/data/f1                  # the shipped model

Procedure (the same for both runs; only the seasons differ):
1. Every race becomes the service's timing messages (`race_data.py`) applied to a `RaceState`; every
   battle and prediction lap one row (`dataset.py`, `battle_features`, the service's own code).
2. Leave-one-season-out cross-validation over the training seasons: for each season, the circuit
   pit-loss table is estimated from the other seasons only, the models are fitted on them and
   predict the left-out season. Every candidate (feature set x hyperparameters) is scored on the
   pooled out-of-fold predictions: the swap model by its Brier score at the opening lap (the issue's
   target), the resolve model by its Brier score over all rows, each battle weighing one.
3. Calibration: isotonic, Platt or none, chosen by the same folds (each season's out-of-fold
   predictions recalibrated by a map fitted on the other seasons' ones); the chosen map is then
   fitted on all out-of-fold predictions.
4. The chosen candidates are refitted on all training seasons (pit-loss table from them too) and
   exported to tree JSON for the stdlib evaluator (`ml/export_trees.py`), with the calibration maps,
   the pit-loss table and the baselines (training swap rate, gap-only logistic) in the manifest;
   `model_version` ends with the artifact's hash.
With `--holdout SEASON` the bundle goes to `ml/f1/artifacts/holdout/` and that season is scored
offline (the published figures come from replaying it through the API: `python -m ml.f1.replay
--season 2023 --score`); without it, the bundle is the one the service ships.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "services" / "race_predictor"), str(REPO / "shared")]

from ml import export_trees  # noqa: E402
from ml.f1 import race_data  # noqa: E402
from ml.f1.dataset import Examples, pit_loss_table, race_examples, race_state  # noqa: E402
from ml.f1.scoring import bootstrap_difference, calibration_error, calibration_table, scores  # noqa: E402
from race_predictor.logic.f1.battles import BattleRules  # noqa: E402
from race_predictor.logic.f1.features import FEATURE_NAMES  # noqa: E402
from race_predictor.logic.f1.predictor import artifact_hash, calibrate  # noqa: E402
from race_predictor.logic.f1.state import RaceState  # noqa: E402

MODELS_DIR = REPO / "services" / "race_predictor" / "race_predictor" / "artifacts"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
HOLDOUT_DIR = ARTIFACTS / "holdout"
SEASONS = (2019, 2020, 2021, 2022, 2023)
MODEL_NAME = "f1-pit-battle-2"
SEED = 7

# Candidates: feature sets (a left-out feature is given to the trees as missing, so they cannot
# split on it and the shipped row layout stays FEATURE_NAMES) x hyperparameters.
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "all": FEATURE_NAMES,
    "no_team_stops": tuple(n for n in FEATURE_NAMES if not n.startswith("team_stop")),
    "core": ("gap_before_s", "gap_now_s", "laps_since_open", "behind_stopped_first", "other_stopped",
             "race_fraction", "laps_remaining", "compound_ahead", "compound_behind", "tyre_age_ahead",
             "tyre_age_behind", "first_new_compound", "first_stop_s", "gap_trend_s", "gap_last_lap_s",
             "pit_loss_s", "rejoin_traffic", "rejoin_clear_s", "status_at_stop", "status_now", "neutralised_laps"),
}
PARAMS: dict[str, dict[str, Any]] = {
    "d2": {"n_estimators": 300, "learning_rate": 0.03, "max_depth": 2, "min_child_weight": 3,
           "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 2.0},
    "d3": {"n_estimators": 250, "learning_rate": 0.03, "max_depth": 3, "min_child_weight": 3,
           "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 2.0},
    "d4": {"n_estimators": 200, "learning_rate": 0.03, "max_depth": 4, "min_child_weight": 5,
           "subsample": 0.8, "colsample_bytree": 0.7, "reg_lambda": 5.0},
}
# base_score 0 for the gap model: every evaluator then sums the float32 trees in the same order.
GAP_EXTRA: dict[str, Any] = {"objective": "reg:pseudohubererror", "huber_slope": 2.0, "base_score": 0.0}


# ---- data --------------------------------------------------------------------------------------
def load_states(data_dir: Path, seasons: Sequence[int]) -> dict[tuple[int, int], RaceState]:
    data = race_data.load(data_dir)
    return {(season, round_): race_state(f"{season}-{round_}", race_data.race_messages(data, season, round_))
            for season, round_ in race_data.available_races(data, list(seasons))}


def table(states: dict[tuple[int, int], RaceState], seasons: Sequence[int],
          pit_loss: dict[str, float]) -> dict[str, np.ndarray]:
    examples = Examples()
    for (season, round_), state in states.items():
        if season in seasons:
            examples.extend(race_examples(state, pit_loss, season, f"{season}-{round_}"))
    return examples_table(examples)


def examples_table(examples: Examples) -> dict[str, np.ndarray]:
    keys = np.asarray(examples.battle_keys)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return {"x": np.asarray(examples.rows, dtype=np.float32), "swapped": np.asarray(examples.swapped),
            "resolved": np.asarray(examples.resolved), "gap": np.asarray(examples.gap_s),
            "keys": keys, "weight": 1.0 / counts[inverse], "lap": np.asarray(examples.laps_since_open),
            "season": np.asarray(examples.seasons)}


def subset(t: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in t.items()}


def masked(x: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    out = x.copy()
    for i, name in enumerate(FEATURE_NAMES):
        if name not in features:
            out[:, i] = np.nan
    return out


# ---- models ------------------------------------------------------------------------------------
def fit_classifier(x: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict[str, Any]) -> Any:
    import xgboost as xgb

    model = xgb.XGBClassifier(**params, n_jobs=2, random_state=SEED, eval_metric="logloss")
    model.fit(x, y, sample_weight=w)
    return model


def fit_regressor(x: np.ndarray, y: np.ndarray, w: np.ndarray, params: dict[str, Any]) -> Any:
    import xgboost as xgb

    model = xgb.XGBRegressor(**{**params, **GAP_EXTRA}, n_jobs=2, random_state=SEED)
    model.fit(x, y, sample_weight=w)
    return model


def fit_calibration(kind: str, p: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, Any] | None:
    if kind == "none":
        return None
    if kind == "platt":
        from sklearn.linear_model import LogisticRegression

        z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9))).reshape(-1, 1)
        lr = LogisticRegression(C=1e6).fit(z, y, sample_weight=w)
        return {"kind": "platt", "a": round(float(lr.coef_[0, 0]), 6), "b": round(float(lr.intercept_[0]), 6)}
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(p, y, sample_weight=w)
    return {"kind": "isotonic", "x": [round(float(v), 6) for v in iso.X_thresholds_],
            "y": [round(float(v), 6) for v in iso.y_thresholds_]}


def apply_calibration(p: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    return np.asarray([calibrate(float(v), calibration) for v in p])


def brier_w(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * (p - y) ** 2) / np.sum(w))


class Task:
    """One probability model: swap (resolved rows, chosen at the opening lap) or resolve (all rows)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def rows(self, t: dict[str, np.ndarray]) -> np.ndarray:
        if self.name == "swap_opening":
            return (t["resolved"] == 1) & (t["lap"] == 0)
        return t["resolved"] == 1 if self.name == "swap" else np.ones(len(t["resolved"]), dtype=bool)

    def label(self, t: dict[str, np.ndarray]) -> np.ndarray:
        return t["resolved"] if self.name == "resolve" else t["swapped"]

    def weight(self, t: dict[str, np.ndarray]) -> np.ndarray:
        return np.ones(len(t["lap"])) if self.name == "swap_opening" else t["weight"]

    def criterion(self, t: dict[str, np.ndarray], p: np.ndarray) -> float:
        y = self.label(t)
        if self.name.startswith("swap"):
            opening = t["lap"] == 0
            return brier_w(y[opening], p[opening], np.ones(int(opening.sum())))
        return brier_w(y, p, t["weight"])


def cross_validate(states: dict[tuple[int, int], RaceState], seasons: Sequence[int]) -> dict[str, Any]:
    """Out-of-fold predictions of every candidate for both tasks, one fold per season."""
    folds = {}
    for season in seasons:
        others = [s for s in seasons if s != season]
        loss = pit_loss_table(st for (s, _), st in states.items() if s in others)
        folds[season] = (table(states, others, loss), table(states, [season], loss))
    report: dict[str, Any] = {}
    for task in (Task("swap"), Task("swap_opening"), Task("resolve")):
        results: list[dict[str, Any]] = []
        for fname, features in FEATURE_SETS.items():
            for pname, params in PARAMS.items():
                parts = []
                for season in seasons:
                    train, test = folds[season]
                    tr, te = subset(train, task.rows(train)), subset(test, task.rows(test))
                    model = fit_classifier(masked(tr["x"], features), task.label(tr), task.weight(tr), params)
                    parts.append((te, model.predict_proba(masked(te["x"], features))[:, 1]))
                oof = {k: np.concatenate([te[k] for te, _ in parts]) for k in parts[0][0]}
                p = np.concatenate([p for _, p in parts])
                per_season = {int(s): round(task.criterion(subset(oof, oof["season"] == s), p[oof["season"] == s]), 4)
                              for s in seasons}
                results.append({"features": fname, "params": pname, "criterion": round(task.criterion(oof, p), 5),
                                "per_season": per_season, "_oof": oof, "_p": p})
                print(f"  cv {task.name} {fname:>13} {pname}: {results[-1]['criterion']:.4f} {per_season}",
                      flush=True)
        best = min(results, key=lambda r: r["criterion"])
        oof, p = best["_oof"], best["_p"]
        y = task.label(oof)
        choice = {}
        for kind in ("none", "platt", "isotonic"):
            recal = np.empty_like(p)
            for season in seasons:
                inside, outside = oof["season"] == season, oof["season"] != season
                cal = fit_calibration(kind, p[outside], y[outside], task.weight(oof)[outside])
                recal[inside] = apply_calibration(p[inside], cal)
            choice[kind] = round(task.criterion(oof, recal), 5)
        calibration_kind = min(choice, key=lambda k: choice[k])
        report[task.name] = {
            "table": [{k: v for k, v in r.items() if not k.startswith("_")} for r in results],
            "chosen": {"features": best["features"], "params": best["params"], "criterion": best["criterion"]},
            "calibration_cv": choice, "calibration": calibration_kind,
            "calibration_map": fit_calibration(calibration_kind, p, y, task.weight(oof)),
        }
    return report


# ---- export ------------------------------------------------------------------------------------
def export_model(model: Any, native: Path, trees: Path) -> float:
    model.save_model(native)
    document = export_trees.export(native)
    rows = np.vstack([export_trees.random_rows(5000, len(FEATURE_NAMES)), export_trees.threshold_rows(document, 5000)])
    parity = export_trees.max_abs_difference(native, document, rows)
    if parity > 1e-5:
        raise SystemExit(f"{native.name}: exported trees differ from XGBoost by {parity:.3g}")
    trees.write_text(json.dumps(document, separators=(",", ":")))
    return parity


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
        classifier = xgb.XGBClassifier(**PARAMS["d4"], n_jobs=1, random_state=SEED, eval_metric="logloss")
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
    parser.add_argument("--holdout", type=int, help="leave this season out of everything and score it")
    parser.add_argument("--manifests", default=None,
                        help="review manifests (s3://bucket/prefix or a local path): their labelled predictions "
                             "join the final fit of the swap model (issue 19; see ml/f1/manifest_training.py)")
    parser.add_argument("--manifests-only", action="store_true",
                        help="train on the manifest rows alone and write the model to --out (not the shipped one)")
    parser.add_argument("--out", type=Path, default=ARTIFACTS / "retrained")
    args = parser.parse_args(argv)
    if args.manifests and args.manifests_only:
        return retrain_from_manifests(args.manifests, args.data, args.out)
    if not (args.data / "ergast" / "lap_times_2019_2023.csv").exists():
        parser.error(f"no F1 data under {args.data}")
    from sklearn.linear_model import LogisticRegression

    seasons = [s for s in SEASONS if s != args.holdout]
    states = load_states(args.data, SEASONS)
    print(f"{len(states)} races; training seasons {seasons}; hold-out {args.holdout}", flush=True)
    cv = cross_validate(states, seasons)

    pit_loss = pit_loss_table(st for (s, _), st in states.items() if s in seasons)
    train = table(states, seasons, pit_loss)
    if args.manifests:
        from ml.f1.manifest_training import manifest_rows, race_messages_source

        extra = manifest_rows(args.manifests, race_messages_source(args.data), pit_loss=pit_loss)
        print(f"manifests: {extra.read} lines ({extra.origins}), {len(extra.examples.swapped)} rows added, "
              f"skipped {extra.skipped}")
        if extra.examples.rows:
            added = examples_table(extra.examples)
            train = {k: np.concatenate([train[k], added[k]]) for k in train}
    # A separate opening-lap swap model ships only when the folds say it beats the all-laps model
    # there (both after their chosen calibration).
    opening_wins = min(cv["swap_opening"]["calibration_cv"].values()) < min(cv["swap"]["calibration_cv"].values())
    cv["swap_opening"]["shipped"] = opening_wins
    models, parities = {}, {}
    for name in ("swap", "swap_opening", "resolve") if opening_wins else ("swap", "resolve"):
        task, chosen = Task(name), cv[name]["chosen"]
        rows = subset(train, task.rows(train))
        models[name] = fit_classifier(masked(rows["x"], FEATURE_SETS[chosen["features"]]), task.label(rows),
                                      task.weight(rows), PARAMS[chosen["params"]])
    resolved = subset(train, train["resolved"] == 1)
    swap_choice = cv["swap"]["chosen"]
    models["gap"] = fit_regressor(masked(resolved["x"], FEATURE_SETS[swap_choice["features"]]), resolved["gap"],
                                  resolved["weight"], PARAMS[swap_choice["params"]])
    gap_column = FEATURE_NAMES.index("gap_before_s")
    opening = resolved["lap"] == 0
    logistic = LogisticRegression().fit(resolved["x"][opening][:, [gap_column]], resolved["swapped"][opening])
    baselines = {"base_rate": round(float(resolved["swapped"][opening].mean()), 6),
                 "gap_logistic": {"coef": round(float(logistic.coef_[0, 0]), 6),
                                  "intercept": round(float(logistic.intercept_[0]), 6)},
                 "resolve_rate": round(float(train["resolved"][train["lap"] == 0].mean()), 6)}

    out = HOLDOUT_DIR if args.holdout else MODELS_DIR
    native_dir = HOLDOUT_DIR / "native" if args.holdout else ARTIFACTS / "native"
    out.mkdir(parents=True, exist_ok=True)
    native_dir.mkdir(parents=True, exist_ok=True)
    names = {role: f"f1_pit_battle_{role}.trees.json" for role in models}
    for role, model in models.items():
        parities[role] = export_model(model, native_dir / f"f1_pit_battle_{role}.xgb.json", out / names[role])
    rules = BattleRules()
    manifest: dict[str, Any] = {
        "model_version": "",
        "trained_on": seasons,
        "feature_names": list(FEATURE_NAMES),
        "rules": {"max_gap_s": rules.max_gap_s, "window_laps": rules.window_laps},
        "models": names,
        "calibration": {role: cv[role]["calibration_map"] for role in models if role != "gap"},
        "baselines": baselines,
        "pit_loss_by_circuit": pit_loss,
    }
    manifest["model_version"] = f"{MODEL_NAME}-{artifact_hash(manifest, out)}"
    (out / "f1_pit_battle.json").write_text(json.dumps(manifest, indent=1) + "\n")

    metrics: dict[str, Any] = {
        "model_version": manifest["model_version"], "trained_on": seasons, "holdout": args.holdout,
        "train_rows": len(train["x"]), "train_battles": len(set(train["keys"])),
        "train_resolved_battles": len(set(resolved["keys"])),
        "cv": {name: {k: v for k, v in report.items() if k != "calibration_map"} for name, report in cv.items()},
        "export_max_abs_diff": parities,
    }
    if args.holdout:
        metrics["offline_holdout"] = score_offline(states, args.holdout, pit_loss, manifest, models)
    digest = hashlib.sha256((out / "f1_pit_battle.json").read_bytes()).hexdigest()
    metrics["manifest_sha256"] = digest
    name = f"metrics_holdout_{args.holdout}.json" if args.holdout else "metrics.json"
    (ARTIFACTS / name).write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps({k: metrics[k] for k in ("model_version", "train_rows", "train_battles")}, indent=1))
    for task_name, report in cv.items():
        print(task_name, report["chosen"], report["calibration_cv"], "->", report["calibration"])
    if args.holdout:
        print(json.dumps(metrics["offline_holdout"]["opening"], indent=1))
    return 0


def score_offline(states: dict[tuple[int, int], RaceState], season: int, pit_loss: dict[str, float],
                  manifest: dict[str, Any], models: dict[str, Any]) -> dict[str, Any]:
    """The hold-out season scored from its rows (a check of the replay's figures, not a substitute)."""
    test = table(states, [season], pit_loss)
    cal = manifest["calibration"]
    p_swap = apply_calibration(models["swap"].predict_proba(test["x"])[:, 1], cal["swap"])
    if "swap_opening" in models:
        first = test["lap"] == 0
        p_swap[first] = apply_calibration(models["swap_opening"].predict_proba(test["x"][first])[:, 1],
                                          cal["swap_opening"])
    p_resolve = apply_calibration(models["resolve"].predict_proba(test["x"])[:, 1], cal["resolve"])
    base = manifest["baselines"]
    gap = test["x"][:, FEATURE_NAMES.index("gap_before_s")].astype(float)
    p_logistic = 1 / (1 + np.exp(-(base["gap_logistic"]["coef"] * gap + base["gap_logistic"]["intercept"])))
    opening = (test["lap"] == 0) & (test["resolved"] == 1)
    y = test["swapped"][opening]
    return {
        "opening": {
            "battles": int(opening.sum()),
            "model": {**scores(y, p_swap[opening]), "calibration_error": calibration_error(y, p_swap[opening])},
            "base_rate": scores(y, np.full(int(opening.sum()), base["base_rate"])),
            "gap_logistic": {**scores(y, p_logistic[opening]),
                             "calibration_error": calibration_error(y, p_logistic[opening])},
            "brier_minus_gap_logistic": bootstrap_difference(y, p_swap[opening], p_logistic[opening],
                                                             list(test["keys"][opening])),
            "calibration": calibration_table(y, p_swap[opening]),
        },
        "resolve_all_rows": {**scores(test["resolved"], p_resolve),
                             "calibration_error": calibration_error(test["resolved"], p_resolve)},
    }


if __name__ == "__main__":
    raise SystemExit(main())
