"""Issue 18.9/18.10: the F1 card's figures, the runs' outputs and the shipped artifact are one run.

The card's generated part equals what `ml.f1.card.render` makes of the JSON files the runs wrote;
the shipped run's metrics name the shipped manifest (its bytes' hash and model_version); the API
replay scored the hold-out run's model; and `model_version` ends with the hash of the artifact it
names, so a changed tree file cannot be served under the old version."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from ml.f1 import card
from race_predictor.logic.f1.predictor import MANIFEST, TreePitBattlePredictor, artifact_hash


def test_card_figures_are_rendered_from_the_runs_outputs():
    text = card.CARD.read_text()
    generated = text[text.index(card.BEGIN):text.index(card.END) + len(card.END)]
    assert generated == card.render(*card.load())


def test_shipped_artifact_is_the_one_the_shipped_run_measured():
    holdout, replay, shipped = card.load()
    manifest = json.loads(MANIFEST.read_text())
    assert shipped["manifest_sha256"] == hashlib.sha256(MANIFEST.read_bytes()).hexdigest()
    assert shipped["model_version"] == manifest["model_version"] == TreePitBattlePredictor.load().version
    assert manifest["model_version"].endswith("-" + artifact_hash(manifest, MANIFEST.parent))
    assert manifest["trained_on"] == [2019, 2020, 2021, 2022, 2023]


def test_replay_scored_the_hold_out_model():
    holdout, replay, _ = card.load()
    held = card.ARTIFACTS / "holdout" / "f1_pit_battle.json"
    assert replay["model_version"] == holdout["model_version"] == json.loads(held.read_text())["model_version"]
    assert holdout["manifest_sha256"] == hashlib.sha256(held.read_bytes()).hexdigest()
    assert 2023 not in holdout["trained_on"] and replay["season"] == 2023


def test_a_changed_tree_file_is_refused(tmp_path):
    for path in MANIFEST.parent.glob("f1_pit_battle*"):
        shutil.copy(path, tmp_path / path.name)
    trees = tmp_path / "f1_pit_battle_swap.trees.json"
    document = json.loads(trees.read_text())
    document["trees"][0]["value"][-1] += 0.5
    trees.write_text(json.dumps(document, separators=(",", ":")))
    with pytest.raises(RuntimeError, match="hash"):
        TreePitBattlePredictor.load(tmp_path / "f1_pit_battle.json")
