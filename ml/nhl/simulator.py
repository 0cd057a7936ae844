"""A player-tracking simulator: a game's tracking records with the face-offs it contains as ground truth.

Owns a simple kinematic model: after a whistle the skaters on ice head for spots around the chosen
dot (the two takers just either side of it), slow down as they arrive and settle, with position
noise; some face-offs see a taker waved out and a team-mate come in; then the puck drops, play
runs a while and the whistle goes again. Goals and penalties change score and strength. Used by
tests, the demo, the bench and `ml/nhl/fit_setup_rule.py` (which labels frames with `settled`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from race_predictor.logic.nhl.detection import DOTS, default_home_attacks_positive_x

APPROACH_TIME_S = 0.45  # exponential approach to a target: slows down on arrival
MAX_SPEED_FPS = 22.0
PLAY_SPEED_FPS = 16.0
TAKER_OFFSET_FT = 2.0  # takers stand about a stick's length apart, the dot between them


@dataclass
class SimPlayer:
    player_id: int
    side: str
    position: str
    x: float = 0.0
    y: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    on_ice: bool = False


@dataclass
class SimulatedFaceoff:
    """Ground truth of one face-off: the dot, every (home, away) pair that set up, and the winner."""

    dot: str
    setups: list[tuple[int, int]]
    winner_id: int
    loser_id: int
    start_ms: int = 0  # the stoppage's first sample
    drop_ms: int = 0  # the puck drop


@dataclass
class SimulatedGame:
    game_id: str
    records: list[dict[str, Any]]
    faceoffs: list[SimulatedFaceoff]
    # One row per position record in a stoppage: nearest pair's distances and speeds, and whether
    # the takers had truly settled (the label for fitting the set rule).
    frames: list[dict[str, float]] = field(default_factory=list)


def default_lineup(home_ids: list[int] | None = None, away_ids: list[int] | None = None,
                   names: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """18 skaters and 2 goalies a side; ids from the caller (real NHL ids in the demo) or made up.

    `names` (player_id -> name) adds a `name` to the players it knows; the others go without.
    """
    positions = ["C"] * 4 + ["L"] * 4 + ["R"] * 4 + ["D"] * 6 + ["G"] * 2
    players = []
    for side, base, given in (("home", 9100000, home_ids), ("away", 9200000, away_ids)):
        for index, position in enumerate(positions):
            pid = given[index] if given and index < len(given) else base + index + 1
            players.append({"player_id": pid, "side": side, "position": position,
                            "shoots": "L" if index % 3 else "R", "height_in": 73, "weight_lb": 195,
                            "first_season": 20152016})
            if names and pid in names:
                players[-1]["name"] = names[pid]
    return players


class _Sim:
    def __init__(self, game_id: str, season: int, lineup: list[dict[str, Any]], seed: int,
                 sample_ms: int, noise_ft: float, waive_out_rate: float) -> None:
        self.rng = random.Random(seed)
        self.game_id, self.season = game_id, season
        self.sample_ms, self.noise_ft, self.waive_out_rate = sample_ms, noise_ft, waive_out_rate
        self.players = [SimPlayer(p["player_id"], p["side"], p["position"]) for p in lineup]
        self.records: list[dict[str, Any]] = []
        self.faceoffs: list[SimulatedFaceoff] = []
        self.frames: list[dict[str, float]] = []
        self.ts = 0
        self.period = 0
        self.score = [0, 0]
        self.strength = [5, 5]
        self.penalty_faceoffs_left = 0
        self.penalized: int | None = None
        self.lineup = lineup
        self.takers: tuple[SimPlayer, SimPlayer] | None = None
        self.settled_since: int | None = None

    # --- records ---------------------------------------------------------------------------
    def game(self, event: str, **extra: Any) -> None:
        self.records.append({"type": "game", "game_id": self.game_id, "ts_ms": self.ts, "event": event, **extra})

    def skaters(self, side: str) -> list[SimPlayer]:
        return [p for p in self.players if p.side == side and p.on_ice and p.position != "G"]

    def choose_lines(self) -> None:
        for side, strength in (("home", self.strength[0]), ("away", self.strength[1])):
            pool = [p for p in self.players if p.side == side]
            for p in pool:
                p.on_ice = False
            goalie = next(p for p in pool if p.position == "G")
            goalie.on_ice = True
            centres = [p for p in pool if p.position == "C" and p.player_id != self.penalized]
            wings = [p for p in pool if p.position in "LR" and p.player_id != self.penalized]
            defence = [p for p in pool if p.position == "D" and p.player_id != self.penalized]
            chosen = [self.rng.choice(centres)] + self.rng.sample(wings, 2) + self.rng.sample(defence, 2)
            for p in chosen[:strength]:
                if not p.on_ice:
                    p.on_ice = True
                    p.x, p.y = self.rng.uniform(-15, 15), -40.0  # from the bench
                    p.tx, p.ty = p.x, p.y

    def tick(self, duration_ms: int, *, stoppage: bool, label: bool = False) -> None:
        """Move every player on ice toward its target for `duration_ms`, emitting samples."""
        dt = self.sample_ms / 1000.0
        end = self.ts + duration_ms
        while self.ts < end:
            self.ts += self.sample_ms
            for p in self.players:
                if not p.on_ice:
                    continue
                if not stoppage and p.position != "G" and math.hypot(p.tx - p.x, p.ty - p.y) < 8.0:
                    # In play skaters keep skating: a new target before they could slow down.
                    p.tx, p.ty = self.rng.uniform(-90, 90), self.rng.uniform(-38, 38)
                dx, dy = p.tx - p.x, p.ty - p.y
                distance = math.hypot(dx, dy)
                speed = min(MAX_SPEED_FPS, distance / APPROACH_TIME_S)
                step = min(distance, speed * dt)
                if distance > 1e-9:
                    p.x += dx / distance * step
                    p.y += dy / distance * step
                self.records.append({
                    "type": "position", "game_id": self.game_id, "ts_ms": self.ts, "player_id": p.player_id,
                    "x_ft": round(max(-99.0, min(99.0, p.x + self.rng.gauss(0, self.noise_ft))), 2),
                    "y_ft": round(max(-42.0, min(42.0, p.y + self.rng.gauss(0, self.noise_ft))), 2)})
                if stoppage and label and self.takers is not None:
                    self.label_frame()

    def label_frame(self) -> None:
        # Ground truth for the set rule: both takers within 1 ft of their spot for 0.4 s or more.
        assert self.takers is not None
        settled = all(math.hypot(p.tx - p.x, p.ty - p.y) < 1.0 for p in self.takers)
        if settled and self.settled_since is None:
            self.settled_since = self.ts
        if not settled:
            self.settled_since = None
        self.frames.append({"ts_ms": self.ts, "settled": float(settled and self.ts - (self.settled_since or 0) >= 400)})

    def wander(self) -> None:
        for p in self.players:
            if p.on_ice and p.position != "G":
                p.tx, p.ty = self.rng.uniform(-90, 90), self.rng.uniform(-38, 38)

    def goalies_home(self) -> None:
        home_attacks_pos = default_home_attacks_positive_x(self.period)
        for p in self.players:
            if p.on_ice and p.position == "G":
                own_net_positive = (p.side == "home") != home_attacks_pos
                p.tx, p.ty = (86.0 if own_net_positive else -86.0), 0.0
                if abs(p.x) < 1e-9:
                    p.x, p.y = p.tx, p.ty

    def arrange(self, dot: str, home_taker: SimPlayer, away_taker: SimPlayer) -> None:
        """Targets around the dot: takers either side of it, team-mates around the circle."""
        dx, dy = DOTS[dot]
        home_sign = -1.0 if default_home_attacks_positive_x(self.period) else 1.0  # home's own end
        for side, taker, sign in (("home", home_taker, home_sign), ("away", away_taker, -home_sign)):
            taker.tx, taker.ty = dx + sign * TAKER_OFFSET_FT, dy + self.rng.uniform(-0.3, 0.3)
            others = [p for p in self.skaters(side) if p is not taker]
            for index, p in enumerate(others):
                angle = (index - (len(others) - 1) / 2) * 0.7
                radius = self.rng.uniform(12.0, 20.0)
                p.tx = max(-97.0, min(97.0, dx + sign * radius * math.cos(angle)))
                p.ty = max(-40.0, min(40.0, dy + radius * math.sin(angle)))

    def settle(self, *takers: SimPlayer) -> None:
        """Skate until the takers reach their spots, then hold still 1.2-2.5 s before the next move."""
        self.tick(1000, stoppage=True, label=True)
        while any(math.hypot(p.tx - p.x, p.ty - p.y) > 0.3 for p in takers):
            self.tick(self.sample_ms, stoppage=True, label=True)
        self.tick(self.rng.randint(1200, 2500), stoppage=True, label=True)

    # --- one face-off ------------------------------------------------------------------------
    def faceoff(self, dot: str) -> None:
        home_c = [p for p in self.skaters("home") if p.position == "C"] or self.skaters("home")
        away_c = [p for p in self.skaters("away") if p.position == "C"] or self.skaters("away")
        home_taker, away_taker = home_c[0], away_c[0]
        start_ms = self.ts
        self.arrange(dot, home_taker, away_taker)
        self.takers = (home_taker, away_taker)
        self.settled_since = None
        setups = [(home_taker.player_id, away_taker.player_id)]
        self.settle(home_taker, away_taker)
        if self.rng.random() < self.waive_out_rate:
            side = self.rng.choice(["home", "away"])
            old = home_taker if side == "home" else away_taker
            mates = [p for p in self.skaters(side) if p is not old and p.position in "CLR"] or \
                [p for p in self.skaters(side) if p is not old]
            new = self.rng.choice(mates)
            new.tx, new.ty, old.tx, old.ty = old.tx, old.ty, new.tx, new.ty  # swap spots
            if side == "home":
                home_taker = new
            else:
                away_taker = new
            self.takers = (home_taker, away_taker)
            self.settled_since = None
            setups.append((home_taker.player_id, away_taker.player_id))
            self.settle(home_taker, away_taker)
        self.takers = None
        home_wins = self.rng.random() < 0.5
        winner, loser = (home_taker, away_taker) if home_wins else (away_taker, home_taker)
        self.faceoffs.append(SimulatedFaceoff(dot, setups, winner.player_id, loser.player_id, start_ms, self.ts))
        self.game("faceoff", winner_id=winner.player_id, loser_id=loser.player_id)
        self.game("clock_start")

    def play(self, faceoffs_per_period: int, periods: int) -> None:
        self.records.append({"type": "lineup", "game_id": self.game_id, "season": self.season,
                             "home_team": "HOM", "away_team": "AWY", "players": self.lineup})
        for period in range(1, periods + 1):
            self.period = period
            self.ts += 60_000
            self.game("period_start", period=period)
            self.choose_lines()
            self.goalies_home()
            self.tick(600, stoppage=True)
            dot = "center"
            for _ in range(faceoffs_per_period):
                self.faceoff(dot)
                self.wander()
                self.tick(self.rng.randint(3000, 9000), stoppage=False)
                dot = self.stoppage()
            self.game("period_end")
        self.game("game_end")

    def stoppage(self) -> str:
        """End a spell of play with a whistle, a goal or a penalty; return where the face-off goes."""
        roll = self.rng.random()
        if self.penalty_faceoffs_left:
            self.penalty_faceoffs_left -= 1
            if not self.penalty_faceoffs_left:
                self.strength, self.penalized = [5, 5], None
                self.game("penalty_end", home_skaters=5, away_skaters=5)
        if roll < 0.08:
            scorer = self.rng.choice([0, 1])
            self.score[scorer] += 1
            self.game("goal", home_score=self.score[0], away_score=self.score[1])
            dot = "center"
        elif roll < 0.16 and not self.penalty_faceoffs_left:
            side = self.rng.choice(["home", "away"])
            self.penalized = self.rng.choice(self.skaters(side)).player_id
            self.strength = [4, 5] if side == "home" else [5, 4]
            self.penalty_faceoffs_left = 3
            self.game("whistle")
            self.game("penalty", home_skaters=self.strength[0], away_skaters=self.strength[1])
            dot = self.rng.choice([d for d in DOTS if d.startswith("end")])
        else:
            self.game("whistle")
            dot = self.rng.choice(list(DOTS))
        if self.rng.random() < 0.5 or self.penalized is not None:
            self.choose_lines()
        self.goalies_home()
        return dot


def simulate_game(game_id: str = "sim-1", *, season: int = 20232024, seed: int = 1, faceoffs_per_period: int = 8,
                  periods: int = 3, sample_ms: int = 200, noise_ft: float = 0.25, waive_out_rate: float = 0.25,
                  lineup: list[dict[str, Any]] | None = None) -> SimulatedGame:
    """Simulate a game; `records` are the tracking records in stream order (JSON-ready dicts).

    >>> game = simulate_game(faceoffs_per_period=2, periods=1)
    >>> len(game.faceoffs), game.records[0]["type"]
    (2, 'lineup')
    """
    sim = _Sim(game_id, season, lineup or default_lineup(), seed, sample_ms, noise_ft, waive_out_rate)
    sim.play(faceoffs_per_period, periods)
    return SimulatedGame(game_id, sim.records, sim.faceoffs, sim.frames)
