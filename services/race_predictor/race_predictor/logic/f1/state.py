"""The state of one race as a set of facts, and the idempotent, order-independent way to apply messages.

Every message becomes a fact under a natural key (driver and lap, lap, ...). When two messages claim
the same key, the one with the higher `seq` wins, whatever order they arrived in; a `seq` already
applied is a duplicate and changes nothing. Battles are derived from the facts (`battles.py`), so
the same messages in any order give the same state and the same battles.

The service keeps a bounded window of these facts (`window`, `prune`): each driver's last `window`
laps, and for a car in an open battle its laps back to three before the battle opened, so that a state item
costs the same at lap 60 as at lap 5; the pit stops (a few per car), the race's last track status
and the applied seqs (as ranges) are kept whole. A lap fact older than its driver's window when it
arrives only counts as applied. Training (`ml/f1/dataset.py`) keeps every fact (`window=None`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
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


class SeqSet:
    """A set of ints kept as sorted, merged ranges: a feed's seqs are nearly consecutive, so the
    applied seqs of a whole race are a handful of ranges, not thousands of numbers. (A 40-line class
    rather than a dependency in the function package: only add / contains / iterate are needed.)"""

    __slots__ = ("ranges",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        self.ranges: list[list[int]] = []  # [first, last] inclusive, sorted, disjoint, not adjacent
        for value in values:
            self.add(value)

    def _index(self, value: int) -> int:
        """Index of the last range starting at or before `value` (-1 if none)."""
        return bisect.bisect_right(self.ranges, [value, float("inf")]) - 1

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int):
            return False
        i = self._index(value)
        return i >= 0 and self.ranges[i][0] <= value <= self.ranges[i][1]

    def add(self, value: int) -> None:
        if value in self:
            return
        i = self._index(value)
        joins_left = i >= 0 and self.ranges[i][1] == value - 1
        joins_right = i + 1 < len(self.ranges) and self.ranges[i + 1][0] == value + 1
        if joins_left and joins_right:
            self.ranges[i][1] = self.ranges[i + 1][1]
            del self.ranges[i + 1]
        elif joins_left:
            self.ranges[i][1] = value
        elif joins_right:
            self.ranges[i + 1][0] = value
        else:
            self.ranges.insert(i + 1, [value, value])

    def __iter__(self) -> Iterator[int]:
        for first, last in self.ranges:
            yield from range(first, last + 1)

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in self.ranges)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SeqSet):
            return self.ranges == other.ranges
        if isinstance(other, set | frozenset):
            return len(self) == len(other) and all(value in self for value in other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like set

    def __repr__(self) -> str:
        return f"SeqSet({self.ranges})"

    def to_json(self) -> list[list[int]]:
        return [list(r) for r in self.ranges]

    @classmethod
    def from_json(cls, raw: list[Any]) -> SeqSet:
        seqs = cls()
        for item in raw:
            if isinstance(item, list):  # a range
                seqs.ranges.append([int(item[0]), int(item[1])])
            else:  # a state written before ranges: one seq
                seqs.add(int(item))
        return seqs


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
    track_latest: tuple[int, str] | None = None  # (seq, status) of the latest track status
    ended_seq: int | None = None
    applied_seqs: SeqSet = field(default_factory=SeqSet)
    # battle_id -> latest prediction (the PitBattlePredicted data), and the (battle, lap) pairs done.
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    predicted: set[str] = field(default_factory=set)
    # The service's window (not serialised; None keeps every fact): laps kept behind each driver's
    # latest, `hold` = per driver, the lap ranges [first, last] his open battles read (kept whatever
    # his latest lap), and the battles already closed (announced) the window can still derive.
    window: int | None = field(default=None, compare=False)
    hold: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    closed: set[str] = field(default_factory=set)

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

    def status_at(self, seq: int) -> str:
        """The track status in force when the message `seq` was sent: that of the latest
        track_status before it (green before any). A car's `lap_completed` seq is the moment it
        crossed the line, so this is the status that car saw then, not any other driver's lap."""
        latest = max(((s, status) for by_seq in self.track.values() for s, status in by_seq.items() if s < seq),
                     default=None)
        return latest[1] if latest else "green"

    def current_status(self) -> str:
        return self.track_latest[1] if self.track_latest else "green"

    def last_lap(self) -> int:
        return max((max(by_lap) for by_lap in self.laps.values() if by_lap), default=0)

    @property
    def ended(self) -> bool:
        return self.ended_seq is not None

    def keeper(self) -> Callable[[str, int], bool]:
        """`keeps(driver, lap)`: whether the window keeps that lap, as of now (a snapshot: the
        latest laps and holds do not move while a batch is applied)."""
        if self.window is None:
            return lambda driver, lap: True
        window = self.window
        floors = {driver: max(by_lap) - window + 1 for driver, by_lap in self.laps.items() if by_lap}
        held = {driver: list(ranges) for driver, ranges in self.hold.items()}

        def keeps(driver: str, lap: int) -> bool:
            return lap >= floors.get(driver, 0) or any(first <= lap <= last for first, last in held.get(driver, ()))

        return keeps

    # ---- serialisation (compact: the item is read and written on every call) -------------------
    def to_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "race_id": self.race_id,
            "info": None if info is None else [info.seq, info.season, info.round, info.circuit,
                                               info.total_laps, info.teams],
            "laps": {d: _lap_columns(by_lap) for d, by_lap in self.laps.items()},
            "pit_ins": {d: {str(n): s for n, s in by_lap.items()} for d, by_lap in self.pit_ins.items()},
            "pit_outs": {d: {str(n): [f.seq, f.compound, f.pit_duration_ms] for n, f in by_lap.items()}
                         for d, by_lap in self.pit_outs.items()},
            "track": {str(n): {str(s): st for s, st in by_seq.items()} for n, by_seq in self.track.items()},
            "track_latest": None if self.track_latest is None else list(self.track_latest),
            "ended_seq": self.ended_seq,
            "applied_seqs": self.applied_seqs.to_json(),
            "predictions": self.predictions,
            "predicted": sorted(self.predicted),
            "hold": {d: [list(r) for r in ranges] for d, ranges in self.hold.items()},
            "closed": sorted(self.closed),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any], window: int | None = None) -> RaceState:
        info = raw.get("info")
        track = {int(n): {int(s): st for s, st in by_seq.items()} for n, by_seq in raw["track"].items()}
        latest = raw.get("track_latest")
        if latest is None and track:  # written before track_latest was kept
            latest = max((seq, status) for by_seq in track.values() for seq, status in by_seq.items())
        return cls(
            race_id=raw["race_id"],
            info=None if info is None else RaceInfo(info[0], info[1], info[2], info[3], info[4], dict(info[5])),
            laps={d: _lap_rows(by_lap) for d, by_lap in raw["laps"].items()},
            pit_ins={d: {int(n): s for n, s in by_lap.items()} for d, by_lap in raw["pit_ins"].items()},
            pit_outs={d: {int(n): PitOutFact(*f) for n, f in by_lap.items()} for d, by_lap in raw["pit_outs"].items()},
            track=track,
            track_latest=None if latest is None else (int(latest[0]), str(latest[1])),
            ended_seq=raw.get("ended_seq"),
            applied_seqs=SeqSet.from_json(raw["applied_seqs"]),
            predictions=dict(raw.get("predictions", {})),
            predicted=set(raw.get("predicted", [])),
            window=window,
            hold={d: [(int(r[0]), int(r[1])) for r in ranges] for d, ranges in raw.get("hold", {}).items()
                  if isinstance(ranges, list)},
            closed=set(raw.get("closed", [])),
        )


def _deltas(values: list[int]) -> list[int]:
    return [value - previous for previous, value in zip([0, *values[:-1]], values, strict=True)]


def _sums(deltas: list[Any]) -> list[int]:
    total, values = 0, []
    for delta in deltas:
        total += int(delta)
        values.append(total)
    return values


def _lap_columns(by_lap: dict[int, LapFact]) -> list[list[Any]]:
    """A driver's laps as columns in lap order (lap, seq and race time as differences from the
    previous lap's): about half the compressed bytes of one list per lap."""
    laps = sorted(by_lap)
    facts = [by_lap[n] for n in laps]
    return [_deltas(laps), _deltas([f.seq for f in facts]), [f.position for f in facts],
            [f.lap_time_ms for f in facts], _deltas([f.race_time_ms for f in facts]),
            [f.compound for f in facts], [f.tyre_age_laps for f in facts]]


def _lap_rows(raw: Any) -> dict[int, LapFact]:
    if isinstance(raw, dict):  # a state written before the columns: lap -> [seq, position, ...]
        return {int(n): LapFact(*f) for n, f in raw.items()}
    laps, seqs, positions, lap_times, race_times, compounds, ages = raw
    return {lap: LapFact(seq, position, lap_time, race_time, compound, age) for lap, seq, position, lap_time,
            race_time, compound, age in zip(_sums(laps), _sums(seqs), positions, lap_times, _sums(race_times),
                                            compounds, ages, strict=True)}


def _newer(current: Any, seq: int) -> bool:
    return current is None or seq > current.seq


def apply_message(state: RaceState, message: Any, keeps: Callable[[str, int], bool] | None = None) -> bool:
    """Apply one validated message in place; return False if its `seq` was already applied.

    `keeps` (the window as it was before the batch, `RaceState.keeper`) drops lap facts that arrive
    behind it; None reads the window now (every fact without one)."""
    if message.seq in state.applied_seqs:
        return False
    state.applied_seqs.add(message.seq)
    match message:
        case RaceStart():
            if _newer(state.info, message.seq):
                state.info = RaceInfo(message.seq, message.season, message.round, message.circuit,
                                      message.total_laps, {d.driver: d.team for d in message.drivers})
        case LapCompleted():
            if not (keeps or state.keeper())(message.driver, message.lap):
                return True  # behind the window: counted as applied, too late to change a battle
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
            if state.track_latest is None or message.seq > state.track_latest[0]:
                state.track_latest = (message.seq, message.status)
        case RaceEnd():
            state.ended_seq = message.seq if state.ended_seq is None else max(state.ended_seq, message.seq)
    return True


def apply_messages(state: RaceState, messages: list[Any]) -> tuple[list[int], list[int]]:
    """Apply a batch; return (accepted seqs, duplicate seqs). Sorting by seq first only makes the
    result easier to read: the facts do not depend on the order."""
    accepted: list[int] = []
    duplicates: list[int] = []
    keeps = state.keeper()
    for message in sorted(messages, key=lambda m: m.seq):
        (accepted if apply_message(state, message, keeps) else duplicates).append(message.seq)
    return accepted, duplicates


TRACK_MARGIN_LAPS = 10  # track statuses kept behind the leader's lap (lapped cars' battles read them)


def prune(state: RaceState) -> None:
    """Drop the facts the window no longer keeps (nothing without a window): each driver's laps
    neither among his last `window` nor held by an open battle, and the track statuses of laps
    more than TRACK_MARGIN_LAPS behind the leader that no open battle reads."""
    if state.window is None:
        return
    keeps = state.keeper()
    for driver, by_lap in state.laps.items():
        for lap in [n for n in by_lap if not keeps(driver, n)]:
            del by_lap[lap]
    held = [r for ranges in state.hold.values() for r in ranges]
    track_floor = state.last_lap() - TRACK_MARGIN_LAPS
    dropped = [n for n in state.track if n < track_floor and not any(a <= n <= b for a, b in held)]
    # The status in force at a kept lap may have been set on a dropped one (a safety car out for
    # ten laps): keep the latest dropped status before each kept stretch, so `status_at` stays exact.
    keep: set[tuple[int, int]] = set()
    for boundary in {track_floor, *(a for a, _ in held)}:
        before = [(s, n) for n in dropped if n < boundary for s in state.track[n]]
        if before:
            keep.add(max(before))
    for lap in dropped:
        by_seq = state.track[lap]
        for seq in [s for s in by_seq if (s, lap) not in keep]:
            del by_seq[seq]
        if not by_seq:
            del state.track[lap]


def compound_index(compound: str | None) -> float:
    """Ordinal code of a compound for the model (NaN when unknown)."""
    return float(COMPOUNDS.index(compound)) if compound in COMPOUNDS else float("nan")
