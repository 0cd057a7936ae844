"""Export a trained XGBoost or LightGBM model to the tree JSON that race_predictor evaluates.

    .venv/bin/python -m ml.export_trees MODEL OUT.trees.json
    # e.g. ml/f1/artifacts/native/f1_pit_battle_swap.xgb.json  -> .../artifacts/f1_pit_battle_swap.trees.json
    #      ml/nhl/nhl_faceoff_lgbm.txt                   -> .../artifacts/nhl_faceoff.trees.json

The format (`pitwall-trees/1`) holds each tree as flat arrays (feature, threshold, children,
default branch for a missing value, leaf value) plus how the trees' sum becomes a prediction
(base margin, sigmoid or identity). `race_predictor.logic.common.inference.TreeEnsemble` evaluates it
with the standard library only, following each library's own split rule, so its predictions agree
with the native model (the export checks this on random rows and prints max |dp|). The model's
kind is told by its file: XGBoost's JSON model (`save_model("*.json")`) or LightGBM's text model.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from array import array
from pathlib import Path
from typing import Any

FORMAT = "pitwall-trees/1"
# LightGBM's decision_type bits (src/io/tree.h): bit 0 categorical, bit 1 default_left, bits 2-3 missing type.
_LGBM_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
# XGBoost objectives whose prediction is the margin itself (no link function).
_IDENTITY_OBJECTIVES = {"reg:squarederror", "reg:linear", "reg:pseudohubererror", "reg:absoluteerror", "reg:quantileerror"}


def _float32(value: float) -> float:
    return array("f", [value])[0]


def export_xgboost(path: Path) -> dict[str, Any]:
    """XGBoost JSON model -> tree document. Split rule: x < threshold goes left; NaN takes the default."""
    learner = json.loads(path.read_text())["learner"]
    objective = learner["objective"]["name"]
    booster = learner["gradient_booster"]
    if booster["name"] != "gbtree":
        raise ValueError(f"{path}: only gbtree boosters are supported, not {booster['name']}")
    base_score = float(learner["learner_model_param"]["base_score"].strip("[]"))
    model = booster["model"]
    trees = model["trees"]
    best = learner.get("attributes", {}).get("best_iteration")
    if best is not None:  # predict() stops at the best iteration when training stopped early
        trees = trees[: int(best) + 1]
    exported = []
    for tree in trees:
        if any(kind != 0 for kind in tree["split_type"]):
            raise ValueError(f"{path}: categorical splits are not supported")
        left = tree["left_children"]
        exported.append({
            "feature": [f if left[i] >= 0 else -1 for i, f in enumerate(tree["split_indices"])],
            # XGBoost keeps a split as float32 and compares float32 inputs to it: the JSON's shortest
            # decimal ("24.206") read as a double is not that float32, and an input exactly at the
            # split (a pit-loss value from the table the model was trained on) went the wrong way.
            "threshold": [_float32(c) if left[i] >= 0 else 0.0 for i, c in enumerate(tree["split_conditions"])],
            "left": left, "right": tree["right_children"],
            "default_left": [int(d) for d in tree["default_left"]],
            "missing": [2] * len(left),  # NaN only
            "value": [c if left[i] < 0 else 0.0 for i, c in enumerate(tree["split_conditions"])],
        })
    if objective == "binary:logistic":
        margin, transform = math.log(base_score / (1.0 - base_score)), "sigmoid"
    elif objective in _IDENTITY_OBJECTIVES:
        margin, transform = base_score, "identity"
    else:
        raise ValueError(f"{path}: objective {objective} is not supported")
    return {"format": FORMAT, "source": "xgboost", "objective": objective, "split": "lt", "float32_inputs": True,
            "base_margin": margin, "transform": transform, "sigmoid_scale": 1.0,
            "num_features": int(learner["learner_model_param"]["num_feature"]), "trees": exported}


def export_lightgbm(path: Path) -> dict[str, Any]:
    """LightGBM text model -> tree document. Split rule: x <= threshold goes left, with LightGBM's
    missing-value types (None: NaN counts as 0; Zero: 0 and NaN take the default; NaN: NaN does)."""
    import lightgbm as lgb

    dump = lgb.Booster(model_file=str(path)).dump_model()
    objective = dump["objective"].split()
    if objective[0] != "binary":
        raise ValueError(f"{path}: objective {dump['objective']} is not supported")
    scale = next((float(part.split(":")[1]) for part in objective if part.startswith("sigmoid:")), 1.0)
    exported = []
    for info in dump["tree_info"]:
        nodes: dict[str, list[Any]] = {k: [] for k in ("feature", "threshold", "left", "right", "default_left", "missing", "value")}

        def add(node: dict[str, Any], nodes: dict[str, list[Any]] = nodes) -> int:
            index = len(nodes["feature"])
            for values in nodes.values():
                values.append(0)
            if "leaf_value" in node:
                nodes["feature"][index], nodes["left"][index], nodes["right"][index] = -1, -1, -1
                nodes["value"][index] = node["leaf_value"]
                return index
            if node["decision_type"] != "<=":
                raise ValueError(f"{path}: categorical splits are not supported")
            nodes["feature"][index], nodes["threshold"][index] = node["split_feature"], node["threshold"]
            nodes["default_left"][index] = int(node["default_left"])
            nodes["missing"][index] = _LGBM_MISSING[node["missing_type"]]
            nodes["left"][index] = add(node["left_child"])
            nodes["right"][index] = add(node["right_child"])
            return index

        add(info["tree_structure"])
        exported.append(nodes)
    return {"format": FORMAT, "source": "lightgbm", "objective": dump["objective"], "split": "le",
            "float32_inputs": False, "base_margin": 0.0, "transform": "sigmoid", "sigmoid_scale": scale,
            "num_features": dump["max_feature_idx"] + 1, "trees": exported}


def export(model: Path) -> dict[str, Any]:
    text = model.read_text()
    return export_xgboost(model) if text.lstrip().startswith("{") else export_lightgbm(model)


def native_predict(model: Path, rows: Any) -> Any:
    """The trained model's own predictions (probability, or value for a regressor) on float32 rows."""
    import numpy as np

    if model.read_text().lstrip().startswith("{"):
        import xgboost as xgb

        booster = xgb.Booster(model_file=str(model))
        return booster.predict(xgb.DMatrix(np.asarray(rows, dtype=np.float32), missing=np.nan))
    import lightgbm as lgb

    return lgb.Booster(model_file=str(model)).predict(np.asarray(rows, dtype=np.float64))


def random_rows(count: int, features: int, seed: int = 7) -> Any:
    """Rows that reach many leaves: wide normal values, 15% missing, some exact zeros."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(count, features)) * rng.choice([1, 5, 30], size=features)
    rows[rng.random(rows.shape) < 0.15] = np.nan
    rows[rng.random(rows.shape) < 0.05] = 0.0
    return rows.astype(np.float32)


def threshold_rows(document: dict[str, Any], count: int, seed: int = 7) -> Any:
    """Rows whose values sit exactly on the model's splits (where a rounding of the split shows)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    splits: dict[int, list[float]] = {}
    for tree in document["trees"]:
        for feature, threshold in zip(tree["feature"], tree["threshold"], strict=True):
            if feature >= 0:
                splits.setdefault(feature, []).append(threshold)
    rows = random_rows(count, document["num_features"], seed)
    for feature, values in splits.items():
        rows[:, feature] = rng.choice(np.asarray(values, dtype=np.float32), size=count)
    return rows


def max_abs_difference(model: Path, document: dict[str, Any], rows: Any) -> float:
    """max |dp| between the exported trees and the native model on `rows`. XGBoost sums its trees in
    float32 in an order of its own: a regressor's value in seconds may differ by a few float32 ulps
    of the partial sums (~4e-6 s for the F1 gap model); probabilities agree to ~1e-7."""
    from race_predictor.logic.common.inference import TreeEnsemble

    ours = TreeEnsemble(document).predict(rows.tolist())
    return max(abs(a - float(b)) for a, b in zip(ours, native_predict(model, rows), strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="XGBoost JSON model or LightGBM text model")
    parser.add_argument("out", type=Path, help="where to write the tree JSON (e.g. .../artifacts/<name>.trees.json)")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="largest |dp| accepted against the native model")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "race_predictor"))
    import numpy as np

    document = export(args.model)
    rows = np.vstack([random_rows(5000, document["num_features"]), threshold_rows(document, 5000)])
    absolute = max_abs_difference(args.model, document, rows)
    if absolute > args.tolerance:
        print(f"{args.model}: exported trees differ from the native model by {absolute:.3g} > {args.tolerance:g}")
        return 1
    args.out.write_text(json.dumps(document, separators=(",", ":")))
    print(f"{args.out}: {len(document['trees'])} trees, {args.out.stat().st_size / 1024:.0f} KB; vs {document['source']} "
          f"on 5000 random rows: max |dp| = {absolute:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
