"""Training rows of the pit-battle model from review manifests (issue 19 item 4).

A `pit-battle-swap` manifest line points (`source-ref`) at the prediction's JSON that human review
stored (`tasks/<loop>/prediction.json`: race, battle, lap) and carries the label a person or the
world (`PitBattleResolved`, `source: ground-truth`) gave it. The features are recomputed here with
the service's own code from the race's timing messages — the shared data for `<season>-<round>`
races, the simulator for `sim-<seed>` ones (what `make run` replays) — at the predicted lap, so a
manifest row is the same row the model was asked about, now with its settled label.

    python -m ml.f1.train --manifests s3://<review bucket>/manifests/parts/pit-battle-swap/ [--manifests-only]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.f1.dataset import Examples, race_state
from ml.manifests import labels, read_json_object, read_manifest_lines, summary
from race_predictor.logic.f1.battles import BattleRules, derive_battles
from race_predictor.logic.f1.features import battle_features

DATASET = "pit-battle-swap"
POSITIVE = "positions-swapped"
CLASSES = ("position-kept", POSITIVE)
MODEL_MANIFEST = (Path(__file__).resolve().parents[2] / "services" / "race_predictor" / "race_predictor" / "artifacts"
                  / "f1_pit_battle.json")


@dataclass
class ManifestRows:
    examples: Examples = field(default_factory=Examples)
    read: int = 0  # manifest lines of the dataset
    origins: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> lines not turned into a row

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def race_messages_source(data_dir: Path | None) -> Callable[[str], list[dict[str, Any]] | None]:
    """race_id -> its timing messages: shared data (`2023-01`) or the simulator (`sim-1`)."""
    loaded: dict[str, Any] = {}

    def messages(race_id: str) -> list[dict[str, Any]] | None:
        if race_id.startswith("sim-") and race_id[4:].isdigit():
            from ml.f1.simulator import simulate_race

            return simulate_race(seed=int(race_id[4:]))
        season, _, round_ = race_id.partition("-")
        if not (season.isdigit() and round_.isdigit()) or data_dir is None:
            return None
        if "data" not in loaded:
            from ml.f1 import race_data

            loaded["data"] = race_data.load(data_dir)
        from ml.f1 import race_data

        try:
            return race_data.race_messages(loaded["data"], int(season), int(round_))
        except KeyError:
            return None

    return messages


def pit_loss_of_shipped_model() -> dict[str, float]:
    return dict(json.loads(MODEL_MANIFEST.read_text()).get("pit_loss_by_circuit", {}))


def manifest_rows(location: str, messages_for: Callable[[str], list[dict[str, Any]] | None], *,
                  pit_loss: dict[str, float] | None = None, s3: Any = None,
                  rules: BattleRules = BattleRules()) -> ManifestRows:
    """One training row per labelled prediction at `location` (lines of other datasets ignored)."""
    pit_loss = pit_loss if pit_loss is not None else pit_loss_of_shipped_model()
    found = labels(read_manifest_lines(location, s3=s3), DATASET)
    rows = ManifestRows(read=len(found), origins=summary(found))
    states: dict[str, Any] = {}
    for label in found:
        if label.class_name not in CLASSES or not label.source_ref:
            rows.skip("no class of this model")
            continue
        prediction = read_json_object(label.source_ref, s3=s3).get("data") or {}
        race_id, battle_id, lap = prediction.get("race_id"), prediction.get("battle_id"), prediction.get("lap")
        if not isinstance(race_id, str) or not isinstance(battle_id, str) or not isinstance(lap, int):
            rows.skip("prediction without race, battle or lap")
            continue
        if race_id not in states:
            messages = messages_for(race_id)
            states[race_id] = race_state(race_id, messages) if messages is not None else None
        state = states[race_id]
        if state is None:
            rows.skip("race not in the data")
            continue
        battle = next((b for b in derive_battles(state, rules) if b.battle_id == battle_id), None)
        if battle is None:
            rows.skip("battle not found in the race")
            continue
        rows.examples.rows.append(battle_features(state, battle, lap, pit_loss))
        rows.examples.swapped.append(int(label.class_name == POSITIVE))
        rows.examples.resolved.append(1)  # a labelled swap outcome: the battle resolved
        rows.examples.gap_s.append(float(battle.gap_s or 0.0))
        rows.examples.battle_keys.append(f"{race_id}/{battle_id}")
        rows.examples.laps_since_open.append(lap - battle.opened_lap)
        rows.examples.seasons.append(int(race_id.split("-")[0]) if race_id[:4].isdigit() else 0)
    rows.examples.resolved_battles = len(set(rows.examples.battle_keys))
    return rows
