"""Turns the shared F1 data (Ergast tables + FastF1 laps) into the timing messages of the live feed.

`race_messages(data, season, round)` is the one translation used by the replay command (to drive
the service) and by the training-set builder (which feeds the same messages through the service's
pure race-state code), so a race looks the same to training and to serving.

Timing facts: Ergast lap times give position and lap time per driver and lap (race time = their
running sum); Ergast pit stops give the lap at whose end the car entered the pit lane and the
pit-lane time; FastF1 gives compound, tyre age and track status per lap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

# FastF1 TrackStatus digits (FastF1 docs, `Laps.TrackStatus`): 1 green, 2 yellow, 4 safety car,
# 5 red flag, 6 VSC deployed, 7 VSC ending. A lap's string lists every status seen on it.
TRACK_CODES = {"5": "red_flag", "4": "safety_car", "6": "virtual_safety_car", "7": "virtual_safety_car",
               "2": "yellow"}
COMPOUNDS = {"SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET"}
# The scheduled distance of the races in 2019-2023 that ended early (Ergast has only the laps run).
# A live feed knows the distance at the start; the laps completed are known only at the flag.
# Sources: the race reports on Wikipedia ("Scheduled 53 laps" ...), checked against FIA
# classifications: 2019 Japanese GP (chequered flag shown a lap early: 52 of 53), 2021 Belgian GP
# (1 of 44 counted), 2022 Monaco GP (time limit: 64 of 78), 2022 Singapore GP (time limit: 59 of
# 61), 2022 Japanese GP (rain: 28 of 53).
SCHEDULED_LAPS = {(2019, 17): 53, (2021, 12): 44, (2022, 7): 78, (2022, 17): 61, (2022, 18): 53}


@dataclass(frozen=True)
class F1Data:
    races: pd.DataFrame
    laps: pd.DataFrame
    pits: pd.DataFrame
    drivers: pd.DataFrame
    results: pd.DataFrame
    constructors: pd.DataFrame
    circuits: pd.DataFrame
    fastf1: pd.DataFrame


@functools.cache
def load(data_dir: Path) -> F1Data:
    """Read the tables once; `data_dir` is the shared `f1/` folder."""
    ergast = Path(data_dir) / "ergast"
    na = ["\\N"]
    fastf1_frames = []
    for path in sorted((Path(data_dir) / "fastf1").glob("transformed_grand_prix_laps_*.csv")):
        year = int(path.stem.rsplit("_", 1)[1])
        frame = pd.read_csv(path, usecols=["Driver", "LapNumber", "Compound", "TyreLife", "TrackStatus",
                                           "RoundNumber"], dtype={"TrackStatus": str})
        frame["year"] = year
        fastf1_frames.append(frame)
    fastf1 = pd.concat(fastf1_frames, ignore_index=True) if fastf1_frames else pd.DataFrame(
        columns=["Driver", "LapNumber", "Compound", "TyreLife", "TrackStatus", "RoundNumber", "year"])
    return F1Data(
        races=pd.read_csv(ergast / "races.csv", na_values=na, usecols=["raceId", "year", "round", "circuitId", "name"]),
        laps=pd.read_csv(ergast / "lap_times_2019_2023.csv", na_values=na),
        pits=pd.read_csv(ergast / "pit_stops.csv", na_values=na),
        drivers=pd.read_csv(ergast / "drivers.csv", na_values=na, usecols=["driverId", "driverRef", "code"]),
        results=pd.read_csv(ergast / "results.csv", na_values=na, usecols=["raceId", "driverId", "constructorId"]),
        constructors=pd.read_csv(ergast / "constructors.csv", na_values=na, usecols=["constructorId", "name"]),
        circuits=pd.read_csv(ergast / "circuits.csv", na_values=na, usecols=["circuitId", "circuitRef"]),
        fastf1=fastf1,
    )


def available_races(data: F1Data, seasons: range | list[int] | None = None) -> list[tuple[int, int]]:
    """(season, round) of every race with lap times (and pit stops), in calendar order."""
    with_laps = set(data.laps["raceId"].unique()) & set(data.pits["raceId"].unique())
    races = data.races[data.races["raceId"].isin(with_laps)]
    if seasons is not None:
        races = races[races["year"].isin(list(seasons))]
    return sorted((int(y), int(r)) for y, r in zip(races["year"], races["round"], strict=True))


def _driver_code(row: pd.Series) -> str:
    code = row["code"]
    if isinstance(code, str) and len(code) == 3 and code.isalpha():
        return code.upper()
    return str(row["driverRef"]).replace("_", "")[:3].upper()  # a few old entries lack a code


def _status_at_line(codes: Any) -> str | None:
    """The status in force as a car crossed the line: the last one its lap's string lists
    (FastF1 appends the statuses in the order they were set during the lap)."""
    text = str(codes) if pd.notna(codes) else ""
    text = "".join(c for c in text if c.isdigit())
    return (TRACK_CODES.get(text[-1], "green") if text[-1] != "1" else "green") if text else None


def _status_changes(tyres: pd.DataFrame, race_time: dict[tuple[str, int], int]) -> list[tuple[int, int, str]]:
    """(race time ms, lap, status) each time the status in force changes, as the cars crossing the
    line saw it: every car's crossing (Ergast race time) with the status at the end of its lap,
    in time order; a message whenever it differs from the one before (the race starts green).
    `lap` is the leader's lap at that moment (the state keeps statuses by it)."""
    seen = []
    for driver, lap, codes in zip(tyres["Driver"], tyres["LapNumber"], tyres["TrackStatus"], strict=True):
        if pd.isna(lap):
            continue
        at = race_time.get((str(driver), int(lap)))
        status = _status_at_line(codes)
        if at is not None and status is not None:
            seen.append((at, int(lap), status))
    seen.sort()
    changes, current, leader_lap = [], "green", 0
    for at, lap, status in seen:
        leader_lap = max(leader_lap, lap)
        if status != current:
            changes.append((at, leader_lap, status))
            current = status
    return changes


def race_messages(data: F1Data, season: int, round_: int) -> list[dict[str, Any]]:
    """The timing messages of one race, in the order a live feed would send them, `seq` from 1."""
    race = data.races[(data.races["year"] == season) & (data.races["round"] == round_)]
    if race.empty:
        raise KeyError(f"no race {season} round {round_}")
    race_id = int(race["raceId"].iloc[0])
    circuit = data.circuits.set_index("circuitId").loc[int(race["circuitId"].iloc[0]), "circuitRef"]
    laps = data.laps[data.laps["raceId"] == race_id].sort_values(["driverId", "lap"]).copy()
    if laps.empty:
        raise KeyError(f"no lap times for {season} round {round_}")
    laps["race_time_ms"] = laps.groupby("driverId")["milliseconds"].cumsum()
    codes = {int(row["driverId"]): _driver_code(row) for _, row in data.drivers.iterrows()
             if int(row["driverId"]) in set(laps["driverId"])}
    teams_by_id = data.constructors.set_index("constructorId")["name"]
    entries = data.results[data.results["raceId"] == race_id]
    teams = {codes[int(d)]: str(teams_by_id.loc[int(c)]) for d, c in zip(entries["driverId"], entries["constructorId"],
                                                                        strict=True) if int(d) in codes}
    tyres = data.fastf1[(data.fastf1["year"] == season) & (data.fastf1["RoundNumber"] == round_)]
    tyre_by_key = {(str(d), int(n)): (c, t) for d, n, c, t in zip(tyres["Driver"], tyres["LapNumber"],
                                                                   tyres["Compound"], tyres["TyreLife"], strict=True)
                   if pd.notna(n)}
    timed: list[tuple[int, int, dict[str, Any]]] = []  # (time ms, tie-break, message)
    total_laps = SCHEDULED_LAPS.get((season, round_), int(laps["lap"].max()))
    timed.append((0, 0, {"type": "race_start", "season": season, "round": round_, "circuit": str(circuit),
                         "total_laps": total_laps,
                         "drivers": [{"driver": code, "team": teams.get(code, "unknown")}
                                     for code in sorted(codes.values())]}))
    race_time: dict[tuple[str, int], int] = {}
    for driver_id, lap, position, ms, total in zip(laps["driverId"], laps["lap"], laps["position"],
                                                   laps["milliseconds"], laps["race_time_ms"], strict=True):
        code = codes[int(driver_id)]
        message: dict[str, Any] = {"type": "lap_completed", "driver": code, "lap": int(lap), "position": int(position),
                                   "lap_time_ms": int(ms), "race_time_ms": int(total)}
        compound, age = tyre_by_key.get((code, int(lap)), (None, None))
        if isinstance(compound, str) and compound in COMPOUNDS:
            message["compound"] = compound
        if age is not None and pd.notna(age) and age >= 0:
            message["tyre_age_laps"] = int(age)
        race_time[(code, int(lap))] = int(total)
        timed.append((int(total), 1, message))
    stops = data.pits[data.pits["raceId"] == race_id]
    for driver_id, lap, ms in zip(stops["driverId"], stops["lap"], stops["milliseconds"], strict=True):
        stopper = codes.get(int(driver_id))
        if stopper is None or (stopper, int(lap)) not in race_time:
            continue
        code = stopper
        at = race_time[(code, int(lap))]
        timed.append((at, 2, {"type": "pit_in", "driver": code, "lap": int(lap)}))
        out: dict[str, Any] = {"type": "pit_out", "driver": code, "lap": int(lap)}
        compound, _ = tyre_by_key.get((code, int(lap) + 1), (None, None))
        if isinstance(compound, str) and compound in COMPOUNDS:
            out["compound"] = compound
        if pd.notna(ms) and 0 < ms < 3_600_000:
            out["pit_duration_ms"] = int(ms)
            timed.append((at + int(ms), 3, out))
        else:
            timed.append((at + 1, 3, out))
    for at, lap, status in _status_changes(tyres, race_time):
        timed.append((at, 0, {"type": "track_status", "lap": lap, "status": status}))
    end = int(laps["race_time_ms"].max()) + 1
    timed.append((end, 9, {"type": "race_end"}))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [{"seq": seq, **message} for seq, (_, _, message) in enumerate(timed, start=1)]


def message_time_ms(messages: list[dict[str, Any]]) -> list[int]:
    """Race time at which each message is sent (for N x real-time replay): the lap's end for a lap
    or pit_in, the lap end plus pit-lane time for a pit_out, the previous message's time otherwise."""
    times: list[int] = []
    last = 0
    pit_in_at: dict[tuple[str, int], int] = {}
    for message in messages:
        kind = message["type"]
        if kind == "lap_completed":
            last = max(last, int(message["race_time_ms"]))
            pit_in_at[(message["driver"], message["lap"])] = int(message["race_time_ms"])
        elif kind == "pit_out":
            start = pit_in_at.get((message["driver"], message["lap"]), last)
            last = max(last, start + int(message.get("pit_duration_ms") or 0))
        times.append(last)
    return times
