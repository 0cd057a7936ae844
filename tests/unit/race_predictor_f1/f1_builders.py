"""Hand-built races for the F1 tests: lap times in, timing messages out (positions and race times
are computed from the lap times, so every expected value in a test can be checked by hand)."""

from __future__ import annotations

from typing import Any

BASE_LAP_MS = 90_000


class RaceScript:
    """Writes a race as timing messages; `lap()` takes each driver's lap time (default 90 s)."""

    def __init__(self, drivers: tuple[str, ...] = ("AAA", "BBB", "CCC", "DDD"), total_laps: int = 30,
                 start_offsets_ms: dict[str, int] | None = None, circuit: str = "bahrain") -> None:
        self.drivers = drivers
        self.seq = 0
        self.messages: list[dict[str, Any]] = []
        self.race_time = {d: (start_offsets_ms or {}).get(d, i * 1000) for i, d in enumerate(drivers)}
        self.laps_done = 0
        self.add({"type": "race_start", "season": 2023, "round": 1, "circuit": circuit, "total_laps": total_laps,
                  "drivers": [{"driver": d, "team": f"team{i // 2}"} for i, d in enumerate(drivers)]})

    def add(self, message: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        full = {"seq": self.seq, **message}
        self.messages.append(full)
        return full

    def lap(self, times: dict[str, int] | None = None, compound: str = "MEDIUM") -> list[dict[str, Any]]:
        self.laps_done += 1
        lap = self.laps_done
        times = times or {}
        for driver in self.drivers:
            self.race_time[driver] += times.get(driver, BASE_LAP_MS)
        order = sorted(self.drivers, key=lambda d: self.race_time[d])
        return [self.add({"type": "lap_completed", "driver": d, "lap": lap, "position": order.index(d) + 1,
                          "lap_time_ms": times.get(d, BASE_LAP_MS), "race_time_ms": self.race_time[d],
                          "compound": compound, "tyre_age_laps": lap}) for d in self.drivers]

    def laps(self, count: int) -> None:
        for _ in range(count):
            self.lap()

    def pit(self, driver: str, compound: str = "HARD", duration_ms: int = 22_000) -> None:
        """The driver enters the pits at the end of the lap just completed."""
        self.add({"type": "pit_in", "driver": driver, "lap": self.laps_done})
        self.add({"type": "pit_out", "driver": driver, "lap": self.laps_done, "compound": compound,
                  "pit_duration_ms": duration_ms})

    def end(self) -> None:
        self.add({"type": "race_end"})

    def batch(self, first_seq: int = 1) -> dict[str, Any]:
        return {"messages": [m for m in self.messages if m["seq"] >= first_seq]}


def undercut_race() -> RaceScript:
    """AAA leads BBB by 1.0 s after lap 4; BBB pits at the end of lap 5 and gains 2.5 s a lap;
    AAA pits at the end of lap 7; at the end of lap 8 BBB is ahead by 1.5 s.

    Race times (ms) after lap 4: AAA 360000, BBB 361000 (start offsets 0 and 1000).
    Lap 6: BBB's out-lap costs 20 s. Laps 6-8, BBB 87.5 s (new tyres) except the out-lap.
    Lap 8: AAA's out-lap costs 20 s.
    AAA: 360000 + 90000 (5) + 90000 (6) + 90000 (7) + 110000 (8) = 740000
    BBB: 361000 + 90000 (5) + 107500 (6) + 87500 (7) + 87500 (8) = 733500 -> gap 6.5 s
    """
    race = RaceScript(drivers=("AAA", "BBB", "CCC"), start_offsets_ms={"AAA": 0, "BBB": 1000, "CCC": 10_000})
    race.laps(5)
    race.pit("BBB")
    race.lap({"BBB": 107_500})
    race.lap({"BBB": 87_500})
    race.pit("AAA")
    race.lap({"BBB": 87_500, "AAA": 110_000})
    return race
