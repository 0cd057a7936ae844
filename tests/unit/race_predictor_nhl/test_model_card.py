"""Issue 18.9: the shipped NHL artifact, its metrics and its model card come from one training run."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from race_predictor.logic.nhl.predictor import MANIFEST, FaceoffModel

ROOT = Path(__file__).resolve().parents[3]
METRICS = json.loads((ROOT / "ml" / "nhl" / "metrics.json").read_text())
CARD = (ROOT / "ml" / "nhl" / "MODEL_CARD.md").read_text()


def test_shipped_trees_hash_is_the_one_the_training_run_recorded():
    trees = MANIFEST.parent / json.loads(MANIFEST.read_text())["models"]["home_win"]
    digest = hashlib.sha256(trees.read_bytes()).hexdigest()[:8]
    assert METRICS["artifact_sha256_prefix"] == digest
    assert FaceoffModel().version == METRICS["model_version"] == json.loads(MANIFEST.read_text())["model_version"]


def test_card_names_the_shipped_version_and_shows_the_runs_holdout_figures():
    assert f"`{METRICS['model_version']}`" in CARD.splitlines()[0]
    assert str(METRICS["holdout_season"]) in CARD
    for name in ("model", "constant", "one_feature_logistic"):
        scores = METRICS["holdout"][name]
        row = next(line for line in CARD.splitlines() if line.startswith(f"| {name} "))
        for metric in ("log_loss", "auc", "calibration_error"):
            assert f"{scores[metric]:.4f}" in row, (name, metric)
    low, high = METRICS["holdout_intervals_95"]["log_loss_difference"]["model_minus_one_feature_logistic"]
    assert f"[{low:+.4f}, {high:+.4f}]" in CARD
    # Every calibration row of the run is in the card's table.
    for row in METRICS["calibration_holdout"]:
        assert re.search(rf"\| {row['bin']} \| {row['n']} \| {row['mean_predicted']:.3f} \| {row['observed']:.3f} \|", CARD)
