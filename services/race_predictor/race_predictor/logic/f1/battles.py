"""Pit-strategy battles, derived from the race facts exactly as issue 4 defines them.

A battle opens when, of two cars consecutive in position at the end of lap p-1 with a gap of at
most `max_gap_s`, exactly one enters the pits at the end of lap p. It resolves at the end of the lap
after the other car's stop if that stop comes within `window_laps` laps (p < q <= p + window);
otherwise it expires. Outcome: is the car that was behind before the first stop ahead at resolution
(race time at the end of lap q+1 smaller)? Gap = race time of the car that was ahead minus that of
the car that was behind, in seconds (positive = the car behind got ahead).

Training (`ml/f1/dataset.py`) and the service both call `derive_battles` and `prediction_laps`, so
the labels the model learnt from are the outcomes the service reports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from race_predictor.logic.f1.state import RaceState

BattleStatus = Literal["open", "resolved", "expired"]


@dataclass(frozen=True)
class BattleRules:
    max_gap_s: float = 3.0
    window_laps: int = 8


@dataclass(frozen=True)
class Battle:
    battle_id: str
    opened_lap: int  # p: the lap at whose end the first car pitted
    ahead: str  # the car ahead at the end of lap p-1
    behind: str
    first_stopper: str
    gap_before_s: float  # behind minus ahead, end of lap p-1
    status: BattleStatus
    other_stop_lap: int | None = None  # q
    resolved_lap: int | None = None  # q + 1
    expired_lap: int | None = None
    swapped: bool | None = None
    gap_s: float | None = None

    @property
    def kind(self) -> str:
        """'undercut' when the car behind pitted first, 'overcut' when it stayed out."""
        return "undercut" if self.first_stopper == self.behind else "overcut"

    @property
    def other(self) -> str:
        return self.behind if self.first_stopper == self.ahead else self.ahead

    def last_open_lap(self, rules: BattleRules) -> int:
        """Last lap after which the battle is still open (predictions run for laps p..this)."""
        return self.other_stop_lap if self.other_stop_lap is not None else self.opened_lap + rules.window_laps - 1

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kind": self.kind}


def battle_id(opened_lap: int, ahead: str, behind: str) -> str:
    return f"L{opened_lap}-{ahead}-{behind}"


def _positions_at(state: RaceState, lap: int) -> dict[int, str]:
    by_position: dict[int, str] = {}
    for driver, by_lap in state.laps.items():
        fact = by_lap.get(lap)
        if fact is not None:
            by_position[fact.position] = driver
    return by_position


def _openings(state: RaceState, rules: BattleRules) -> list[tuple[int, str, str, str, float]]:
    """(p, ahead, behind, first_stopper, gap_before_s) for every battle the facts open."""
    max_gap_ms = rules.max_gap_s * 1000.0
    found: dict[str, tuple[int, str, str, str, float]] = {}
    pit_laps = sorted({lap for by_lap in state.pit_ins.values() for lap in by_lap})
    for p in pit_laps:
        if p < 2:
            continue  # no classified order at the end of lap 0
        if not any(p in by_lap and (p - 1) in state.laps.get(driver, {}) for driver, by_lap in state.pit_ins.items()):
            continue  # no stopper's lap p-1 known (or still in the window): nothing can open
        order = _positions_at(state, p - 1)
        for driver, by_lap in state.pit_ins.items():
            if p not in by_lap or driver not in state.laps or (p - 1) not in state.laps[driver]:
                continue
            position = state.laps[driver][p - 1].position
            for ahead_pos in (position - 1, position):
                ahead, behind = order.get(ahead_pos), order.get(ahead_pos + 1)
                if ahead is None or behind is None:
                    continue
                if state.pitted_at(ahead, p) == state.pitted_at(behind, p):
                    continue  # both pitted, or neither: not exactly one
                gap_ms = state.laps[behind][p - 1].race_time_ms - state.laps[ahead][p - 1].race_time_ms
                if gap_ms > max_gap_ms:
                    continue
                key = battle_id(p, ahead, behind)
                found[key] = (p, ahead, behind, driver, round(gap_ms / 1000.0, 3))
    return sorted(found.values(), key=lambda opening: (opening[0], opening[1], opening[2]))


def _settle(state: RaceState, rules: BattleRules, p: int, ahead: str, behind: str, first: str,
            gap_before_s: float) -> Battle:
    other = behind if first == ahead else ahead
    q = next((lap for lap in state.pit_laps(other) if p < lap <= p + rules.window_laps), None)
    base: dict[str, Any] = {"battle_id": battle_id(p, ahead, behind), "opened_lap": p, "ahead": ahead, "behind": behind,
            "first_stopper": first, "gap_before_s": gap_before_s, "other_stop_lap": q}
    if q is not None:
        r = q + 1
        ahead_lap, behind_lap = state.lap(ahead, r), state.lap(behind, r)
        if ahead_lap is not None and behind_lap is not None:
            gap_ms = ahead_lap.race_time_ms - behind_lap.race_time_ms
            return Battle(**base, status="resolved", resolved_lap=r, swapped=gap_ms > 0,
                          gap_s=round(gap_ms / 1000.0, 3))
        if state.ended:
            return Battle(**base, status="expired", expired_lap=state.last_lap())
        return Battle(**base, status="open")
    deadline = p + rules.window_laps
    if state.lap(ahead, deadline) is not None and state.lap(behind, deadline) is not None:
        return Battle(**base, status="expired", expired_lap=deadline)
    if state.ended:
        return Battle(**base, status="expired", expired_lap=state.last_lap())
    return Battle(**base, status="open")


def derive_battles(state: RaceState, rules: BattleRules = BattleRules()) -> list[Battle]:
    """Every battle the facts define, with its status now, sorted by opening lap then id."""
    return [_settle(state, rules, *opening) for opening in _openings(state, rules)]


def parse_battle_id(battle_id: str) -> tuple[int, str, str]:
    """(opened lap, ahead, behind) of an id made by `battle_id`."""
    lap, ahead, behind = battle_id.split("-")
    return int(lap[1:]), ahead, behind


def holds(battles: list[Battle], rules: BattleRules = BattleRules()) -> dict[str, list[tuple[int, int]]]:
    """Per driver, the laps his open battles can still read, for the state's window: from three laps
    before the opening (the pace feature) to the last a battle settles on (q + 1 <= p + window + 1).
    Bounded even for a battle that never settles (a car that retired keeps it open to the flag)."""
    held: dict[str, list[tuple[int, int]]] = {}
    for battle in battles:
        if battle.status == "open":
            span = (battle.opened_lap - 3, battle.opened_lap + rules.window_laps + 1)
            for driver in (battle.ahead, battle.behind):
                if span not in held.setdefault(driver, []):
                    held[driver].append(span)
    return {driver: sorted(spans) for driver, spans in sorted(held.items())}


def forget_closed(state: RaceState) -> None:
    """Drop closed battles the window can no longer derive (their lap p-1 is gone for good)."""
    for battle_id in list(state.closed):
        p, ahead, behind = parse_battle_id(battle_id)
        if state.lap(ahead, p - 1) is None or state.lap(behind, p - 1) is None:
            state.closed.discard(battle_id)


def prediction_laps(state: RaceState, battle: Battle, rules: BattleRules = BattleRules()) -> list[int]:
    """Laps after which `battle` was open and both cars' laps are known: one prediction each.

    Open after lap L means p <= L <= q (the other car's stop lap) or, with no such stop yet,
    L <= p + window - 1; the prediction at L uses only facts of laps <= L (`features.py`).
    """
    laps = []
    for lap in range(battle.opened_lap, battle.last_open_lap(rules) + 1):
        if state.lap(battle.ahead, lap) is None or state.lap(battle.behind, lap) is None:
            continue
        laps.append(lap)
    return laps
