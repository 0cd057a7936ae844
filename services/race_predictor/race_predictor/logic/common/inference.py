"""Loads the shipped tree models once per process and evaluates them with the standard library.

A model is the JSON that `ml/export_trees.py` writes from a trained XGBoost or LightGBM model:
flat arrays per tree and the rule that turns the trees' sum into a prediction. Evaluating it here
by hand, rather than with ONNX Runtime or a compiled treelite library, keeps the function at a few
hundred KB with no compiled code (nothing to build per CPU) and its cold start at milliseconds;
`bench/race_predictor_inference.py` measures the three and the model cards record the figures.
Each library's rules are followed exactly: XGBoost compares float32 inputs with `<` and sums in
float32, LightGBM compares doubles with `<=`, sums in double and has its own missing-value types,
so predictions agree with the trained model to float rounding (max |dp| printed by the export and
checked by the tests).
"""

from __future__ import annotations

import functools
import json
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODELS_DIR = Path(__file__).resolve().parents[2] / "artifacts"
FORMAT = "pitwall-trees/1"
_ZERO = 1e-35  # LightGBM's kZeroThreshold: |x| at or below it counts as zero


class TreeEnsemble:
    """One exported model; `predict(rows)` gives one probability (or value) per feature row."""

    def __init__(self, document: dict[str, Any]) -> None:
        if document.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: format {document.get('format')!r}")
        self.num_features = int(document["num_features"])
        self.base_margin = float(document["base_margin"])
        self.sigmoid = document["transform"] == "sigmoid"
        self.scale = float(document.get("sigmoid_scale", 1.0))
        self.float32_inputs = bool(document["float32_inputs"])
        self.less_or_equal = document["split"] == "le"
        self.trees = [(t["feature"], t["threshold"], t["left"], t["right"], t["default_left"], t["missing"], t["value"])
                      for t in document["trees"]]

    def margins(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """The raw sum of the trees (plus the base margin) per row."""
        return [self._margin(self._prepared(row)) for row in rows]

    def predict(self, rows: Sequence[Sequence[float]]) -> list[float]:
        margins = self.margins(rows)
        if not self.sigmoid:
            return margins
        return [1.0 / (1.0 + math.exp(-self.scale * m)) for m in margins]

    def _prepared(self, row: Sequence[float]) -> list[float]:
        if len(row) != self.num_features:
            raise ValueError(f"a row has {len(row)} features, the model takes {self.num_features}")
        # XGBoost sees float32 features: round through a float32 array so thresholds compare alike.
        return array("f", row).tolist() if self.float32_inputs else [float(x) for x in row]

    def _margin(self, row: list[float]) -> float:
        # XGBoost sums its trees in float32, LightGBM in double: a one-slot float32 array rounds
        # each addition as XGBoost's does.
        total: Any = array("f", [self.base_margin]) if self.float32_inputs else [self.base_margin]
        le = self.less_or_equal
        for feature, threshold, left, right, default_left, missing, value in self.trees:
            node = 0
            while left[node] >= 0:
                x = row[feature[node]]
                kind = missing[node]
                if x != x:  # NaN
                    if kind == 0:  # LightGBM "None": a missing value counts as 0.0
                        x = 0.0
                    else:
                        node = left[node] if default_left[node] else right[node]
                        continue
                if kind == 1 and -_ZERO <= x <= _ZERO:  # LightGBM "Zero": zero takes the default branch
                    node = left[node] if default_left[node] else right[node]
                elif (x <= threshold[node]) if le else (x < threshold[node]):
                    node = left[node]
                else:
                    node = right[node]
            total[0] += value[node]
        return float(total[0])


@dataclass(frozen=True)
class ModelBundle:
    """A manifest (JSON: version, feature names, lookup tables) and the tree models it names."""

    manifest: dict[str, Any]
    models: dict[str, TreeEnsemble]

    @property
    def version(self) -> str:
        return str(self.manifest["model_version"])


@functools.cache
def load_bundle(manifest_path: Path) -> ModelBundle:
    """Load a bundle once per process; `manifest["models"]` maps a role to a .trees.json beside it."""
    manifest = json.loads(manifest_path.read_text())
    models = {role: TreeEnsemble(json.loads((manifest_path.parent / name).read_text()))
              for role, name in manifest["models"].items()}
    return ModelBundle(manifest, models)
