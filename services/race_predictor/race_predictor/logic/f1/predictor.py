"""The pit-battle model at run time: feature rows in, (swap probability, gap) out.

`TreePitBattlePredictor` runs the shipped tree models (`artifacts/f1_pit_battle.json` names them);
`confidence` turns a probability into the 0-1 score the review rules read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from race_predictor.logic.common.inference import MODELS_DIR, ModelBundle, load_bundle

MANIFEST = MODELS_DIR / "f1_pit_battle.json"


class PitBattlePredictor(Protocol):
    version: str
    pit_loss_by_circuit: Mapping[str, float]

    def predict(self, rows: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        """(swap_probability, predicted_gap_s) per feature row."""
        ...


def confidence(swap_probability: float) -> float:
    """Distance from a coin flip, rescaled to 0-1: 0.5 -> 0.0, 0.05 or 0.95 -> 0.9."""
    return round(abs(2.0 * swap_probability - 1.0), 6)


class TreePitBattlePredictor:
    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle
        self.version = bundle.version
        self.pit_loss_by_circuit: Mapping[str, float] = bundle.manifest.get("pit_loss_by_circuit", {})
        self.feature_names: list[str] = list(bundle.manifest["feature_names"])

    @classmethod
    def load(cls, manifest: Path = MANIFEST) -> TreePitBattlePredictor:
        return cls(load_bundle(manifest))

    def predict(self, rows: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
        if not rows:
            return []
        swap = self.bundle.models["swap"].predict(rows)
        gap = self.bundle.models["gap"].predict(rows)
        return list(zip(swap, gap, strict=True))
