"""The state of one race as a set of facts, and the idempotent, order-independent way to apply messages.

Every message becomes a fact under a natural key (driver and lap, lap, ...). When two messages claim
the same key, the one with the higher `seq` wins, whatever order they arrived in; a `seq` already
applied is a duplicate and changes nothing. Battles are derived from the facts (`battles.py`), so
the same messages in any order give the same state and the same battles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from race_predictor.models.f1 import (
    COMPOUNDS,
    STATUS_SEVERITY,
    LapCompleted,
    PitIn,
    PitOut,
    RaceEnd,
    RaceStart,
    TrackStatus,
)


@dataclass(frozen=True)
class LapFact:
    seq: int
    position: int
    lap_time_ms: int
    race_time_ms: int
    compound: str | None = None
    tyre_age_laps: int | None = None


@dataclass(frozen=True)
class PitOutFact:
    seq: int
    compound: str | None = None
    pit_duration_ms: int | None = None


@dataclass(frozen=True)
class RaceInfo:
    seq: int
    season: int
    round: int
    circuit: str
    total_laps: int
    teams: dict[str, str]  # driver code -> team


@dataclass
class RaceState:
    """Facts of one race plus the bookkeeping of predictions already made."""

    race_id: str
    info: RaceInfo | None = None
    laps: dict[str, dict[int, LapFact]] = field(default_factory=dict)
    pit_ins: dict[str, dict[int, int]] = field(default_factory=dict)  # driver -> lap -> seq
    pit_outs: dict[str, dict[int, PitOutFact]] = field(default_factory=dict)  # driver -> stop lap -> fact
    track: dict[int, dict[int, str]] = field(default_factory=dict)  # lap -> seq -> status
    ended_seq: int | None = None
    applied_seqs: set[int] = field(default_factory=set)
    # battle_id -> latest prediction (the PitBattlePredicted data), and the (battle, lap) pairs done.
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    predicted: set[str] = field(default_factory=set)

    # ---- queries used by battles, features and views -------------------------------------------
    def lap(self, driver: str, lap: int) -> LapFact | None:
        return self.laps.get(driver, {}).get(lap)

    def pitted_at(self, driver: str, lap: int) -> bool:
        return lap in self.pit_ins.get(driver, {})

    def pit_laps(self, driver: str) -> list[int]:
        return sorted(self.pit_ins.get(driver, {}))

    def lap_status(self, lap: int) -> str:
        statuses = self.track.get(lap, {}).values()
        return max(statuses, key=STATUS_SEVERITY.__getitem__, default="green")

    def current_status(self) -> str:
        latest = max(((seq, status) for by_seq in self.track.values() for seq, status in by_seq.items()),
                     default=(-1, "green"))
        return latest[1]

    def last_lap(self) -> int:
        return max((max(by_lap) for by_lap in self.laps.values() if by_lap), default=0)

    @property
    def ended(self) -> bool:
        return self.ended_seq is not None

    # ---- serialisation (compact: the item is read and written on every call) -------------------
    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "race_id": self.race_id,
            "info": None if info is None else [info.seq, info.season, info.round, info.circuit,
                                               info.total_laps, info.teams],
            "laps": {d: {str(n): [f.seq, f.position, f.lap_time_ms, f.race_time_ms, f.compound, f.tyre_age_laps]
                         for n, f in by_lap.items()} for d, by_lap in self.laps.items()},
            "pit_ins": {d: {str(n): s for n, s in by_lap.items()} for d, by_lap in self.pit_ins.items()},
            "pit_outs": {d: {str(n): [f.seq, f.compound, f.pit_duration_ms] for n, f in by_lap.items()}
                         for d, by_lap in self.pit_outs.items()},
            "track": {str(n): {str(s): st for s, st in by_seq.items()} for n, by_seq in self.track.items()},
            "ended_seq": self.ended_seq,
            "applied_seqs": sorted(self.applied_seqs),
            "predictions": self.predictions,
            "predicted": sorted(self.predicted),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RaceState:
        info = raw.get("info")
        return cls(
            race_id=raw["race_id"],
            info=None if info is None else RaceInfo(info[0], info[1], info[2], info[3], info[4], dict(info[5])),
            laps={d: {int(n): LapFact(*f) for n, f in by_lap.items()} for d, by_lap in raw["laps"].items()},
            pit_ins={d: {int(n): s for n, s in by_lap.items()} for d, by_lap in raw["pit_ins"].items()},
            pit_outs={d: {int(n): PitOutFact(*f) for n, f in by_lap.items()} for d, by_lap in raw["pit_outs"].items()},
            track={int(n): {int(s): st for s, st in by_seq.items()} for n, by_seq in raw["track"].items()},
            ended_seq=raw.get("ended_seq"),
            applied_seqs=set(raw["applied_seqs"]),
            predictions=dict(raw.get("predictions", {})),
            predicted=set(raw.get("predicted", [])),
        )


def _newer(current: Any, seq: int) -> bool:
    return current is None or seq > current.seq


def apply_message(state: RaceState, message: Any) -> bool:
    """Apply one validated message in place; return False if its `seq` was already applied."""
    if message.seq in state.applied_seqs:
        return False
    state.applied_seqs.add(message.seq)
    match message:
        case RaceStart():
            if _newer(state.info, message.seq):
                state.info = RaceInfo(message.seq, message.season, message.round, message.circuit,
                                      message.total_laps, {d.driver: d.team for d in message.drivers})
        case LapCompleted():
            by_lap = state.laps.setdefault(message.driver, {})
            if _newer(by_lap.get(message.lap), message.seq):
                by_lap[message.lap] = LapFact(message.seq, message.position, message.lap_time_ms,
                                              message.race_time_ms, message.compound, message.tyre_age_laps)
        case PitIn():
            by_lap_seq = state.pit_ins.setdefault(message.driver, {})
            # a repeated pit_in for the same lap is the same fact; keep the highest seq for symmetry.
            by_lap_seq[message.lap] = max(by_lap_seq.get(message.lap, -1), message.seq)
        case PitOut():
            outs = state.pit_outs.setdefault(message.driver, {})
            if _newer(outs.get(message.lap), message.seq):
                outs[message.lap] = PitOutFact(message.seq, message.compound, message.pit_duration_ms)
        case TrackStatus():
            state.track.setdefault(message.lap, {})[message.seq] = message.status
        case RaceEnd():
            state.ended_seq = message.seq if state.ended_seq is None else max(state.ended_seq, message.seq)
    return True


def apply_messages(state: RaceState, messages: list[Any]) -> tuple[list[int], list[int]]:
    """Apply a batch; return (accepted seqs, duplicate seqs). Sorting by seq first only makes the
    result easier to read: the facts do not depend on the order."""
    accepted: list[int] = []
    duplicates: list[int] = []
    for message in sorted(messages, key=lambda m: m.seq):
        (accepted if apply_message(state, message) else duplicates).append(message.seq)
    return accepted, duplicates


def compound_index(compound: str | None) -> float:
    """Ordinal code of a compound for the model (NaN when unknown)."""
    return float(COMPOUNDS.index(compound)) if compound in COMPOUNDS else float("nan")
