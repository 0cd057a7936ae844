"""The pit-battle models at run time: feature rows in, (swap probability, gap, resolve probability) out.

`TreePitBattlePredictor` runs the shipped tree models (`artifacts/f1_pit_battle.json` names them) and
the calibration maps the manifest carries (chosen by cross-validation in `ml/f1/train.py`): Platt
(`1 / (1 + exp(-(a * logit(p) + b)))`) or isotonic (piecewise linear through the fitted points, flat
outside them, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")` predicts).
`confidence` turns a probability into the 0-1 score the review rules read.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from race_predictor.logic.common.inference import MODELS_DIR, ModelBundle, load_bundle

MANIFEST = MODELS_DIR / "f1_pit_battle.json"
HASH_CHARS = 8


class PitBattlePredictor(Protocol):
    version: str
    pit_loss_by_circuit: Mapping[str, float]

    def predict(self, rows: Sequence[Sequence[float]]) -> list[tuple[float, float, float]]:
        """(swap_probability, predicted_gap_s, resolve_probability) per feature row."""
        ...


def confidence(swap_probability: float) -> float:
    """Distance from a coin flip, rescaled to 0-1: 0.5 -> 0.0, 0.05 or 0.95 -> 0.9."""
    return round(abs(2.0 * swap_probability - 1.0), 6)


def artifact_hash(manifest: dict[str, Any], folder: Path) -> str:
    """SHA-256 (first HASH_CHARS hex digits) of the trees files the manifest names, in role order,
    and of the manifest itself without its model_version (calibration and pit-loss table included)."""
    digest = hashlib.sha256()
    for role in sorted(manifest["models"]):
        digest.update((folder / manifest["models"][role]).read_bytes())
    rest = {key: value for key, value in manifest.items() if key != "model_version"}
    digest.update(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:HASH_CHARS]


def calibrate(p: float, calibration: Mapping[str, Any] | None) -> float:
    if not calibration:
        return p
    if calibration["kind"] == "platt":
        q = min(max(p, 1e-9), 1 - 1e-9)
        z = float(calibration["a"]) * math.log(q / (1 - q)) + float(calibration["b"])
        return 1.0 / (1.0 + math.exp(-z))
    xs, ys = calibration["x"], calibration["y"]
    if p <= xs[0]:
        return float(ys[0])
    if p >= xs[-1]:
        return float(ys[-1])
    i = bisect.bisect_right(xs, p) - 1
    x0, x1, y0, y1 = xs[i], xs[i + 1], ys[i], ys[i + 1]
    return float(y0 if x1 == x0 else y0 + (y1 - y0) * (p - x0) / (x1 - x0))


class TreePitBattlePredictor:
    def __init__(self, bundle: ModelBundle, folder: Path = MODELS_DIR) -> None:
        self.bundle = bundle
        self.version = bundle.version
        digest = artifact_hash(bundle.manifest, folder)
        if not self.version.endswith(f"-{digest}"):  # issue 18.10: the version names the exact artifact
            raise RuntimeError(f"f1 model_version {self.version!r} does not end with its artifact's hash -{digest}")
        self.pit_loss_by_circuit: Mapping[str, float] = bundle.manifest.get("pit_loss_by_circuit", {})
        self.feature_names: list[str] = list(bundle.manifest["feature_names"])
        self.calibration: Mapping[str, Any] = bundle.manifest.get("calibration", {})
        self._laps_since_open = self.feature_names.index("laps_since_open")

    @classmethod
    def load(cls, manifest: Path | None = None) -> TreePitBattlePredictor:
        path = manifest or MANIFEST
        return cls(load_bundle(path), path.parent)

    def predict(self, rows: Sequence[Sequence[float]]) -> list[tuple[float, float, float]]:
        if not rows:
            return []
        models = self.bundle.models
        swap = [calibrate(p, self.calibration.get("swap")) for p in models["swap"].predict(rows)]
        if "swap_opening" in models:  # a model of its own for the opening lap (chosen by the CV)
            first = [i for i, row in enumerate(rows) if row[self._laps_since_open] == 0]
            if first:
                opening = models["swap_opening"].predict([rows[i] for i in first])
                for i, p in zip(first, opening, strict=True):
                    swap[i] = calibrate(p, self.calibration.get("swap_opening"))
        gap = models["gap"].predict(rows)
        resolve = [calibrate(p, self.calibration.get("resolve")) for p in models["resolve"].predict(rows)]
        return list(zip(swap, gap, resolve, strict=True))
