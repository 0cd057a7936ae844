"""Training examples of the pit-battle model, built with the service's own battle code.

Each race's timing messages (`race_data.race_messages`) are applied to a `RaceState` exactly as the
service applies them; `derive_battles` finds the battles and their outcomes, and every lap on
which the service would predict (`prediction_laps`) becomes one example with `battle_features`.
Every battle gives rows: `resolved` labels all of them (did the other car stop within the window:
the resolve model), `swapped` and `gap_s` only the resolved ones (-1 and NaN on an expired battle's
rows: the swap and gap models train on resolved battles only).

The circuit pit-lane loss is estimated here from the training races: for each green-flag stop,
in-lap + out-lap minus twice the driver's median clean lap of that race; the median per circuit.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from race_predictor.logic.f1.battles import BattleRules, derive_battles, prediction_laps
from race_predictor.logic.f1.features import FEATURE_NAMES, battle_features
from race_predictor.logic.f1.state import RaceState, apply_messages
from race_predictor.models.f1 import parse_message


@dataclass
class Examples:
    rows: list[list[float]] = field(default_factory=list)
    swapped: list[int] = field(default_factory=list)  # -1 on an expired battle's rows
    resolved: list[int] = field(default_factory=list)
    gap_s: list[float] = field(default_factory=list)
    battle_keys: list[str] = field(default_factory=list)  # "<season>-<round>/<battle_id>"
    laps_since_open: list[int] = field(default_factory=list)
    seasons: list[int] = field(default_factory=list)
    expired_battles: int = 0
    resolved_battles: int = 0

    def extend(self, other: Examples) -> None:
        for name in ("rows", "swapped", "resolved", "gap_s", "battle_keys", "laps_since_open", "seasons"):
            getattr(self, name).extend(getattr(other, name))
        self.expired_battles += other.expired_battles
        self.resolved_battles += other.resolved_battles


def race_state(race_id: str, messages: Iterable[dict[str, Any]]) -> RaceState:
    state = RaceState(race_id)
    apply_messages(state, [parse_message(message) for message in messages])
    return state


def race_examples(state: RaceState, pit_loss_by_circuit: Mapping[str, float], season: int, label: str,
                  rules: BattleRules = BattleRules()) -> Examples:
    """Examples of one race: one per battle (resolved or expired) and prediction lap."""
    examples = Examples()
    for battle in derive_battles(state, rules):
        if battle.status == "open":
            continue  # only at a race's end without race_end; nothing to learn from
        resolved = battle.status == "resolved"
        examples.resolved_battles += resolved
        examples.expired_battles += not resolved
        for lap in prediction_laps(state, battle, rules):
            examples.rows.append(battle_features(state, battle, lap, pit_loss_by_circuit))
            examples.swapped.append(int(bool(battle.swapped)) if resolved else -1)
            examples.resolved.append(int(resolved))
            examples.gap_s.append(float(battle.gap_s) if resolved and battle.gap_s is not None else float("nan"))
            examples.battle_keys.append(f"{label}/{battle.battle_id}")
            examples.laps_since_open.append(lap - battle.opened_lap)
            examples.seasons.append(season)
    return examples


def stop_losses(state: RaceState) -> list[float]:
    """Pit-lane losses (s) of the race's green-flag stops: in-lap + out-lap - 2 x median clean lap."""
    losses = []
    for driver, by_lap in state.laps.items():
        pits = set(state.pit_laps(driver))
        clean = [f.lap_time_ms for n, f in by_lap.items()
                 if n > 1 and n not in pits and (n - 1) not in pits and state.lap_status(n) == "green"]
        if len(clean) < 5:
            continue
        typical = statistics.median(clean)
        for lap in pits:
            in_lap, out_lap = by_lap.get(lap), by_lap.get(lap + 1)
            if in_lap is None or out_lap is None:
                continue
            if state.lap_status(lap) != "green" or state.lap_status(lap + 1) != "green":
                continue
            loss = (in_lap.lap_time_ms + out_lap.lap_time_ms - 2 * typical) / 1000.0
            if 5.0 < loss < 60.0:  # outside this, a penalty, damage or a red flag, not the pit lane
                losses.append(loss)
    return losses


def pit_loss_table(states: Iterable[RaceState]) -> dict[str, float]:
    by_circuit: dict[str, list[float]] = defaultdict(list)
    for state in states:
        if state.info is not None:
            by_circuit[state.info.circuit].extend(stop_losses(state))
    return {circuit: round(statistics.median(losses), 3) for circuit, losses in sorted(by_circuit.items())
            if len(losses) >= 3}


__all__ = ["FEATURE_NAMES", "Examples", "pit_loss_table", "race_examples", "race_state", "stop_losses"]
