"""A simple, documented race simulator for when the shared F1 data is absent.

Model (deliberately plain, deterministic for a seed):
- each driver has a base lap time of 90 s plus a skill offset ~ N(0, 0.35 s) and lap noise
  ~ N(0, 0.25 s); positions are the order of race times (no dirty air, no overtaking difficulty);
- tyres: compound offset SOFT -0.6 s, MEDIUM 0, HARD +0.4 s, wear +0.09 / +0.06 / +0.04 s per lap
  of tyre age; everyone starts on SOFT or MEDIUM and makes one stop onto HARD, at a lap drawn
  between 30% and 60% of the race;
- a stop costs 21 s of pit lane: +5 s on the in-lap, +16 s on the out-lap (pit_duration_ms ~ 21 s);
- with probability 0.4 a safety car neutralises 3 laps (lap times x 1.35, gaps not compressed).
It produces the same timing messages as `race_data.race_messages`, so it drives the same service.
"""

from __future__ import annotations

import random
from typing import Any

COMPOUND_OFFSET_S = {"SOFT": -0.6, "MEDIUM": 0.0, "HARD": 0.4}
WEAR_S_PER_LAP = {"SOFT": 0.09, "MEDIUM": 0.06, "HARD": 0.04}
DRIVERS = ["VER", "PER", "LEC", "SAI", "HAM", "RUS", "NOR", "PIA", "ALO", "STR",
           "GAS", "OCO", "ALB", "SAR", "TSU", "RIC", "BOT", "ZHO", "HUL", "MAG"]
TEAMS = ["Red Bull", "Ferrari", "Mercedes", "McLaren", "Aston Martin", "Alpine", "Williams", "AlphaTauri",
         "Alfa Romeo", "Haas F1 Team"]


def simulate_race(seed: int = 1, laps: int = 50, drivers: int = 20) -> list[dict[str, Any]]:
    """Timing messages of one simulated race (`seq` from 1, in feed order)."""
    rng = random.Random(seed)
    codes = DRIVERS[:drivers]
    skill = {d: rng.gauss(0, 0.35) + i * 0.05 for i, d in enumerate(codes)}
    start_compound = {d: rng.choice(["SOFT", "MEDIUM"]) for d in codes}
    stop_lap = {d: rng.randint(int(laps * 0.3), int(laps * 0.6)) for d in codes}
    safety_car = rng.randint(5, laps - 5) if rng.random() < 0.4 else None
    race_time = {d: 300 * i for i, d in enumerate(codes)}  # grid spacing at the start
    compound = dict(start_compound)
    age = {d: 0 for d in codes}
    timed: list[tuple[int, int, dict[str, Any]]] = [(0, 0, {
        "type": "race_start", "season": 2024, "round": 1, "circuit": "simulated", "total_laps": laps,
        "drivers": [{"driver": d, "team": TEAMS[i // 2]} for i, d in enumerate(codes)]})]
    for lap in range(1, laps + 1):
        neutral = safety_car is not None and safety_car <= lap < safety_car + 3
        if neutral and lap == safety_car:
            timed.append((min(race_time.values()) + 1, 0, {"type": "track_status", "lap": lap, "status": "safety_car"}))
        lap_ms: dict[str, int] = {}
        for d in codes:
            age[d] += 1
            seconds = 90.0 + skill[d] + COMPOUND_OFFSET_S[compound[d]] + WEAR_S_PER_LAP[compound[d]] * age[d]
            seconds += rng.gauss(0, 0.25) + (4.0 if lap == 1 else 0.0)
            if lap == stop_lap[d]:
                seconds += 5.0  # in-lap: pit entry
            if lap == stop_lap[d] + 1:
                seconds += 16.0  # out-lap: pit lane and stationary time
            if neutral:
                seconds *= 1.35
            lap_ms[d] = int(seconds * 1000)
            race_time[d] += lap_ms[d]
        order = sorted(codes, key=lambda d: race_time[d])
        for d in codes:
            timed.append((race_time[d], 1, {"type": "lap_completed", "driver": d, "lap": lap,
                                             "position": order.index(d) + 1, "lap_time_ms": lap_ms[d],
                                             "race_time_ms": race_time[d], "compound": compound[d],
                                             "tyre_age_laps": age[d]}))
            if lap == stop_lap[d]:
                timed.append((race_time[d], 2, {"type": "pit_in", "driver": d, "lap": lap}))
                duration = int(rng.gauss(21.0, 0.6) * 1000)
                timed.append((race_time[d] + duration, 3, {"type": "pit_out", "driver": d, "lap": lap,
                                                            "compound": "HARD", "pit_duration_ms": duration}))
                compound[d], age[d] = "HARD", 0
    timed.append((max(race_time.values()) + 1, 9, {"type": "race_end"}))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [{"seq": seq, **message} for seq, (_, _, message) in enumerate(timed, start=1)]
