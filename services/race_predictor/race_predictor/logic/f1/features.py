"""Model features of a battle after lap L, from facts known at the end of lap L only.

The training set (`ml/f1/dataset.py`) and the service call the same `battle_features`, so there is
one definition of every feature. Unknown values are NaN, which the tree models route as missing.
A stop's `pit_out` (new compound, duration) is used only from the lap after the stop, when a live
feed has it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

from race_predictor.logic.f1.battles import Battle
from race_predictor.logic.f1.state import RaceState, compound_index
from race_predictor.models.f1 import STATUS_SEVERITY

NAN = float("nan")

FEATURE_NAMES: tuple[str, ...] = (
    "gap_before_s",  # behind minus ahead at the end of lap p-1
    "gap_now_s",  # behind minus ahead at the end of lap L
    "laps_since_open",  # L - p
    "behind_stopped_first",  # 1 = undercut attempt, 0 = overcut attempt
    "other_stopped",  # the second car has entered the pits by the end of lap L
    "position_ahead",  # position of the car ahead at the end of lap p-1
    "race_fraction",  # p / the scheduled race distance (race_start's total_laps)
    "laps_remaining",  # scheduled distance - L
    "compound_ahead",  # before the first stop (0 SOFT .. 4 WET)
    "compound_behind",
    "tyre_age_ahead",  # laps, end of lap p-1 (the feed's tyre age)
    "tyre_age_behind",
    "stint_ahead",  # laps since the car's previous stop (or the start), end of lap p-1
    "stint_behind",
    "first_new_compound",  # compound fitted at the first stop (known from lap p+1)
    "first_stop_s",  # pit-lane time of the first stop (known from lap p+1)
    "pace_delta_s",  # median lap time, laps p-3..p-1: behind minus ahead
    "gap_trend_s",  # gap at the end of lap p-1 minus at the end of lap p-3 (< 0: closing)
    "gap_last_lap_s",  # gap at the end of lap L minus at the end of lap L-1
    "pit_loss_s",  # the circuit's pit-lane loss estimated from the training seasons
    "rejoin_traffic",  # cars within 2 s of where the first stopper rejoins (opening lap only)
    "rejoin_clear_s",  # time to the nearest car at that point, capped at 10 s (opening lap only)
    "status_before",  # track-status severity (0 green .. 4 red) when the first stopper crossed the line, lap p-1
    "status_at_stop",  # ... when it crossed the line into the pits, end of lap p
    "status_now",  # ... when the later of the two cars crossed the line at the end of lap L
    "neutralised_laps",  # laps p..L whose crossing (the later car's) was under VSC, safety car or red flag
    "team_stop_s_first",  # mean pit-lane time of the first stopper's team so far in this race
    "team_stop_s_other",
)
REJOIN_WINDOW_S = 2.0  # "traffic": a car crossing the line within this of the rejoin point
REJOIN_CAP_S = 10.0


def _median_lap_s(state: RaceState, driver: str, first: int, last: int) -> float:
    times = [f.lap_time_ms for lap in range(first, last + 1) if (f := state.lap(driver, lap)) is not None]
    return statistics.median(times) / 1000.0 if times else NAN


def _stint_laps(state: RaceState, driver: str, lap: int) -> float:
    previous = [p for p in state.pit_laps(driver) if p <= lap]
    return float(lap - (previous[-1] if previous else 0))


def _team_stop_s(state: RaceState, driver: str, before_lap: int) -> float:
    """Mean pit-lane time of the team's stops whose pit_out was known before lap `before_lap` ended."""
    if state.info is None or driver not in state.info.teams:
        return NAN
    team = state.info.teams[driver]
    durations = [
        fact.pit_duration_ms
        for mate, stops in state.pit_outs.items()
        if state.info.teams.get(mate) == team
        for stop_lap, fact in stops.items()
        if stop_lap < before_lap and fact.pit_duration_ms is not None
    ]
    return sum(durations) / len(durations) / 1000.0 if durations else NAN


def _value(x: float | int | None) -> float:
    return NAN if x is None else float(x)


def _gap_s(state: RaceState, battle: Battle, lap: int) -> float:
    a, b = state.lap(battle.ahead, lap), state.lap(battle.behind, lap)
    return (b.race_time_ms - a.race_time_ms) / 1000.0 if a and b else NAN


def _crossing_status(state: RaceState, battle: Battle, lap: int) -> float:
    """Severity of the status in force when the later of the two cars crossed the line at the end of `lap`."""
    a, b = state.lap(battle.ahead, lap), state.lap(battle.behind, lap)
    if a is None or b is None:
        return NAN
    return float(STATUS_SEVERITY[state.status_at(max(a.seq, b.seq))])


def _rejoin(state: RaceState, battle: Battle, loss_s: float) -> tuple[float, float]:
    """(cars within REJOIN_WINDOW_S, seconds to the nearest car) around where the first stopper
    rejoins: `loss_s` behind its own crossing of the line at the end of lap p-1, against every other
    car's crossings of the line (any lap, so lapped cars count). The lap before is used because the
    cars around that point have not finished lap p when the opening prediction is made; every crossing
    read is within the last laps the service keeps."""
    crossed = state.lap(battle.first_stopper, battle.opened_lap - 1)
    if crossed is None or math.isnan(loss_s):
        return NAN, NAN
    point = crossed.race_time_ms + loss_s * 1000.0
    distances = [abs(fact.race_time_ms - point) / 1000.0 for driver, by_lap in state.laps.items()
                 if driver not in (battle.ahead, battle.behind) for fact in by_lap.values()]
    near = sum(1 for d in distances if d <= REJOIN_WINDOW_S)
    return float(near), min(min(distances, default=REJOIN_CAP_S), REJOIN_CAP_S)


def battle_features(state: RaceState, battle: Battle, lap: int,
                    pit_loss_by_circuit: Mapping[str, float]) -> list[float]:
    """Feature vector (in FEATURE_NAMES order) of `battle` after `lap`; NaN where unknown."""
    p = battle.opened_lap
    a_before, b_before = state.lap(battle.ahead, p - 1), state.lap(battle.behind, p - 1)
    a_now, b_now = state.lap(battle.ahead, lap), state.lap(battle.behind, lap)
    assert a_before and b_before and a_now and b_now, "battle_features needs both cars' laps p-1 and L"
    info = state.info
    total = info.total_laps if info else NAN
    other_stop = battle.other_stop_lap
    first_out = state.pit_outs.get(battle.first_stopper, {}).get(p) if lap > p else None
    circuit = info.circuit if info else ""
    loss = float(pit_loss_by_circuit.get(circuit, NAN))
    # Traffic at the rejoin point is read at the opening lap only: later the window no longer
    # holds the other cars' laps of then, and the gap after the out-lap already shows its effect.
    traffic, clear = _rejoin(state, battle, loss) if lap == p else (NAN, NAN)
    first_before, first_at_stop = state.lap(battle.first_stopper, p - 1), state.lap(battle.first_stopper, p)
    crossings = [_crossing_status(state, battle, n) for n in range(p, lap + 1)]
    values = [
        battle.gap_before_s,
        (b_now.race_time_ms - a_now.race_time_ms) / 1000.0,
        lap - p,
        1.0 if battle.first_stopper == battle.behind else 0.0,
        1.0 if other_stop is not None and other_stop <= lap else 0.0,
        a_before.position,
        p / total if info else NAN,
        total - lap if info else NAN,
        compound_index(a_before.compound),
        compound_index(b_before.compound),
        _value(a_before.tyre_age_laps),
        _value(b_before.tyre_age_laps),
        _stint_laps(state, battle.ahead, p - 1),
        _stint_laps(state, battle.behind, p - 1),
        compound_index(first_out.compound) if first_out else NAN,
        _value(first_out.pit_duration_ms) / 1000.0 if first_out else NAN,
        _median_lap_s(state, battle.behind, p - 3, p - 1) - _median_lap_s(state, battle.ahead, p - 3, p - 1),
        battle.gap_before_s - _gap_s(state, battle, p - 3),
        _gap_s(state, battle, lap) - _gap_s(state, battle, lap - 1),
        loss,
        traffic,
        clear,
        float(STATUS_SEVERITY[state.status_at(first_before.seq)]) if first_before else NAN,
        float(STATUS_SEVERITY[state.status_at(first_at_stop.seq)]) if first_at_stop else NAN,
        crossings[-1],
        float(sum(1 for s in crossings if s >= STATUS_SEVERITY["virtual_safety_car"])),
        _team_stop_s(state, battle.first_stopper, lap),
        _team_stop_s(state, battle.other, lap),
    ]
    return [float(v) if not (isinstance(v, float) and math.isnan(v)) else NAN for v in values]
