"""Per-game face-off detection: the state machine in play -> stoppage -> forming -> set -> in play.

Owns the game state (period, clock, score, strength, players on ice with position and velocity),
the set rule (both teams' nearest skaters close to a dot and nearly still, cut-offs fitted by
`ml/nhl/fit_setup_rule.py`), taker choice, and which set-ups call for a prediction. Pure: records
in, triggers and face-off results out; the caller stores the state and does the predicting.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field

from race_predictor.logic.nhl.features import FaceoffSituation, Side, Zone
from race_predictor.models.nhl import GameRecord, LineupRecord, PositionRecord

# The nine face-off dots, centre-ice origin, feet (NHL rink; shared/data/README.md geometry facts).
DOTS: dict[str, tuple[float, float]] = {
    "center": (0.0, 0.0),
    **{f"{'end' if abs(x) == 69 else 'neutral'}_{'+' if x > 0 else '-'}x_{'+' if y > 0 else '-'}y": (x, y)
       for x in (-69.0, -20.0, 20.0, 69.0) for y in (-22.0, 22.0)},
}

# --- Set rule: both takers within `distance_ft` of the dot, each slower than `speed_fps` ----------
Tracking = Literal["league", "broadcast"]


class SetRule(BaseModel, frozen=True):
    """The set rule and the position handling it was fitted with, for one kind of tracking feed."""

    distance_ft: float
    speed_fps: float
    # Speed is measured over at least this long (0: from one sample to the next). Broadcast-derived
    # tracking jitters by a foot or more between frames: over 100 ms that reads as 10+ ft/s for a
    # player standing still.
    velocity_baseline_ms: int = 0
    # A player not seen for this long is taken to be off the ice (or out of the camera's view).
    stale_ms: int = 1500


SET_RULES: dict[Tracking, SetRule] = {
    # The league's optical player tracking (inches, every player every frame; what the simulator
    # draws): fitted on simulated stoppages by `ml/nhl/fit_setup_rule.py --simulated 12`.
    "league": SetRule(distance_ft=3.95, speed_fps=5.80),
    # Tracking derived from broadcast video (Big Data Cup 2022: players out of view, re-identified
    # tracks, a foot of jitter): fitted on real face-offs by `ml/nhl/fit_setup_rule.py` (leave-one-game-out:
    # right dot for 14 of 23 visible face-offs on held-out games). Speed barely separates anything
    # there (jitter), so its cut-off sits at the top of the grid; the distance does the work.
    "broadcast": SetRule(distance_ft=7.5, speed_fps=30.0, velocity_baseline_ms=500, stale_ms=1500),
}
# The league rule's cut-offs, by their old names.
SET_DISTANCE_FT = SET_RULES["league"].distance_ft
SET_SPEED_FPS = SET_RULES["league"].speed_fps
# Not fitted: only decides when to call the stoppage "forming" (someone of each side heading in).
FORMING_DISTANCE_FT = 25.0
# Velocity from successive positions is smoothed: tracking noise of a few inches over 80 ms would
# otherwise read as several feet per second.
VELOCITY_SMOOTHING = 0.35
MAX_DERIVE_GAP_MS = 1000
# Set-ups predicted per stoppage at most: a real one has one to three (waive-outs); a pair flapping
# between two candidates standing at the dot must not flood the bus.
MAX_SETUPS_PER_STOPPAGE = 8

Phase = Literal["pregame", "in_play", "stoppage", "forming", "set", "intermission", "final"]
Trigger = Literal["set", "taker_changed", "dot_changed"]


class Skater(BaseModel):
    """Where one player was last seen, and how fast he was moving."""

    ts_ms: int
    x_ft: float
    y_ft: float
    vx_fps: float = 0.0
    vy_fps: float = 0.0
    # Where the velocity's baseline began (SetRule.velocity_baseline_ms); None: at the last sample.
    ref_ts_ms: int | None = None
    ref_x_ft: float = 0.0
    ref_y_ft: float = 0.0

    @property
    def speed_fps(self) -> float:
        return math.hypot(self.vx_fps, self.vy_fps)


class Rostered(BaseModel):
    side: Literal["home", "away"]
    position: Literal["C", "L", "R", "D", "G"]
    shoots: Literal["L", "R"]
    name: str | None = None


class SeenPlayer(BaseModel):
    player_id: int
    side: Literal["home", "away"]
    position: Literal["C", "L", "R", "D", "G"]
    x_ft: float
    y_ft: float


class DetectionView(BaseModel):
    """What detection saw when it set a face-off up: the rule's inputs, its confidence, every player."""

    tracking: str
    confidence: float = Field(ge=0, le=1)
    max_distance_ft: float
    max_speed_fps: float
    players: list[SeenPlayer]


class FaceoffSetup(BaseModel):
    """A face-off about to be taken: where, by whom, in what situation; what prompted the prediction."""

    game_id: str
    faceoff_seq: int
    dot: str
    home_player_id: int
    away_player_id: int
    situation: FaceoffSituation
    trigger: Trigger
    ts_ms: int
    # Which set-up of this stoppage it is (0, 1, ...): a pair that comes back after another one
    # (A -> B -> A) is a new publication of the same pair, so the ledger must tell them apart.
    setup_index: int = 0
    # Display only: not part of `combination` (a renamed player is not a new prediction).
    home_player_name: str | None = None
    away_player_name: str | None = None
    # How sure detection is of this set-up, and what it saw (for the face-off setup review, issue 19).
    detection: DetectionView | None = None

    @property
    def pair(self) -> str:
        """Dot and takers: what makes a set-up differ from the one before it."""
        return f"{self.dot}:{self.home_player_id}:{self.away_player_id}"

    @property
    def combination(self) -> str:
        """The ledger entry of this prediction: one per face-off, set-up index, dot and pair of takers."""
        return f"{self.faceoff_seq}:{self.setup_index}:{self.pair}"


class FaceoffResult(BaseModel):
    """A face-off taken: who took it for each side and who won, for the player stats."""

    game_id: str
    ts_ms: int
    home_player_id: int
    away_player_id: int
    home_won: bool
    situation: FaceoffSituation
    faceoff_seq: int = 0  # the stoppage it ends: matches the FaceoffPredicted events of that face-off


RECENT_GAME_EVENTS = 16


class GameState(BaseModel):
    """Everything detection needs to know about one game between two batches of records."""

    game_id: str
    tracking: Tracking = "league"  # which set rule applies (the feed's kind, from the service's settings)
    season: int = 0
    home_team: str = ""
    away_team: str = ""
    roster: dict[str, Rostered] = Field(default_factory=dict)
    phase: Phase = "pregame"
    period: int = 0
    home_attacks_positive_x: bool = True
    clock_running: bool = False
    clock_started_ms: int = 0
    elapsed_ms: int = 0  # game clock of the period, up to the last stop
    home_score: int = 0
    away_score: int = 0
    home_skaters: int = 5
    away_skaters: int = 5
    skaters: dict[str, Skater] = Field(default_factory=dict)
    faceoff_seq: int = 0  # counts stoppages: one face-off (possibly re-set) each
    dot: str | None = None
    takers: tuple[int, int] | None = None  # (home, away) of the current set-up
    predicted: list[str] = Field(default_factory=list)  # combinations triggered this stoppage, in order
    last_ts_ms: int = 0
    last_sequence: str = ""  # Kinesis sequence number of the last record applied
    recent_game_events: list[str] = Field(default_factory=list)  # keys of the last game records applied
    counts: dict[str, int] = Field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


class StepOutput(BaseModel):
    setups: list[FaceoffSetup] = Field(default_factory=list)
    results: list[FaceoffResult] = Field(default_factory=list)


def zone_of(dot: str, home_attacks_positive_x: bool) -> Zone:
    """The dot's zone from the home team's view (end dots are offensive at the end it attacks)."""
    x = DOTS[dot][0]
    if abs(x) < 69:
        return "N"
    return "O" if (x > 0) == home_attacks_positive_x else "D"


def default_home_attacks_positive_x(period: int) -> bool:
    """Teams change ends every period; by this contract's default the home team attacks +x in odd ones."""
    return period % 2 == 1


def is_set(home_distance: float, away_distance: float, home_speed: float, away_speed: float,
           rule: SetRule | None = None) -> bool:
    """The fitted set rule (the league feed's unless another is given)."""
    rule = rule or SET_RULES["league"]
    return max(home_distance, away_distance) <= rule.distance_ft and max(home_speed, away_speed) <= rule.speed_fps


def _game_seconds(state: GameState, ts_ms: int) -> float:
    running = ts_ms - state.clock_started_ms if state.clock_running else 0
    return min(1200.0, max(0.0, (state.elapsed_ms + running) / 1000.0))


def home_side_of(dot: str, home_attacks_positive_x: bool) -> Side | None:
    """An end-zone dot's side from the home taker's view: facing +x his left is +y (None elsewhere)."""
    x, y = DOTS[dot]
    if abs(x) < 69:
        return None
    return "L" if (y > 0) == home_attacks_positive_x else "R"


def situation_of(state: GameState, dot: str, ts_ms: int) -> FaceoffSituation:
    return FaceoffSituation(
        zone=zone_of(dot, state.home_attacks_positive_x), home_side=home_side_of(dot, state.home_attacks_positive_x),
        period=max(1, min(state.period, 10)),
        seconds_elapsed=_game_seconds(state, ts_ms), score_diff=max(-20, min(20, state.home_score - state.away_score)),
        home_skaters=state.home_skaters, away_skaters=state.away_skaters, season=state.season)


def nearest_takers(state: GameState, now_ms: int) -> tuple[str, int, int, float, float, float, float] | None:
    """The dot whose nearest home and away skaters are closest, with those two and their distances.

    Returns (dot, home_id, away_id, home_distance, away_distance, home_speed, away_speed).
    """
    stale_ms = SET_RULES[state.tracking].stale_ms
    home: list[tuple[int, Skater]] = []
    away: list[tuple[int, Skater]] = []
    for pid, skater in state.skaters.items():
        rostered = state.roster.get(pid)
        if rostered is None or rostered.position == "G" or now_ms - skater.ts_ms > stale_ms:
            continue
        (home if rostered.side == "home" else away).append((int(pid), skater))
    if not home or not away:
        return None
    best = None
    for dot, (dx, dy) in DOTS.items():
        h_id, h = min(home, key=lambda item: math.hypot(item[1].x_ft - dx, item[1].y_ft - dy))
        a_id, a = min(away, key=lambda item: math.hypot(item[1].x_ft - dx, item[1].y_ft - dy))
        h_d, a_d = math.hypot(h.x_ft - dx, h.y_ft - dy), math.hypot(a.x_ft - dx, a.y_ft - dy)
        if best is None or max(h_d, a_d) < max(best[3], best[4]):
            best = (dot, h_id, a_id, h_d, a_d, h.speed_fps, a.speed_fps)
    return best


def detection_confidence(state: GameState, now_ms: int, dot: str, found: tuple[str, int, int, float, float, float, float]
                         ) -> float:
    """How clearly the set rule holds, 0..1: the least of its two margins (how far inside the distance
    and speed cut-offs the takers are) and of each side's lead (1 - taker's distance / the next
    team-mate's: another player as close to the dot makes the taker uncertain)."""
    rule = SET_RULES[state.tracking]
    _, home_id, away_id, h_d, a_d, h_v, a_v = found
    margins = [1 - max(h_d, a_d) / rule.distance_ft, 1 - max(h_v, a_v) / rule.speed_fps]
    dx, dy = DOTS[dot]
    for side, taker in (("home", home_id), ("away", away_id)):
        others = [math.hypot(s.x_ft - dx, s.y_ft - dy) for pid, s in state.skaters.items()
                  if pid != str(taker) and now_ms - s.ts_ms <= rule.stale_ms
                  and (r := state.roster.get(pid)) is not None and r.side == side and r.position != "G"]
        taker_d = h_d if side == "home" else a_d
        if others and min(others) > 0:
            margins.append(1 - taker_d / min(others))
        elif others:
            margins.append(0.0)
    return round(max(0.0, min(1.0, *margins)), 4)


def seen_players(state: GameState, now_ms: int) -> list[SeenPlayer]:
    """Every rostered player seen recently (the set rule's staleness), for the review's rink picture."""
    stale_ms = SET_RULES[state.tracking].stale_ms
    seen = []
    for pid, skater in sorted(state.skaters.items(), key=lambda item: int(item[0])):
        rostered = state.roster.get(pid)
        if rostered is not None and now_ms - skater.ts_ms <= stale_ms:
            seen.append(SeenPlayer(player_id=int(pid), side=rostered.side, position=rostered.position,
                                   x_ft=round(skater.x_ft, 1), y_ft=round(skater.y_ft, 1)))
    return seen


def apply_lineup(state: GameState, record: LineupRecord) -> None:
    state.season = record.season
    state.home_team, state.away_team = record.home_team, record.away_team
    state.roster = {str(p.player_id): Rostered(side=p.side, position=p.position, shoots=p.shoots, name=p.name)
                    for p in record.players}


def apply_position(state: GameState, record: PositionRecord) -> None:
    key = str(record.player_id)
    if key not in state.roster:
        state.count("positions_unknown_player")
        return
    previous = state.skaters.get(key)
    if previous is not None and record.ts_ms <= previous.ts_ms:
        return  # a re-delivered or out-of-date sample
    ref: tuple[int, float, float] = (record.ts_ms, record.x_ft, record.y_ft)
    if record.vx_fps is not None and record.vy_fps is not None:
        vx, vy = record.vx_fps, record.vy_fps
    elif previous is not None and record.ts_ms - previous.ts_ms <= MAX_DERIVE_GAP_MS:
        if previous.ref_ts_ms is None:
            base = (previous.ts_ms, previous.x_ft, previous.y_ft)
        else:
            base = (previous.ref_ts_ms, previous.ref_x_ft, previous.ref_y_ft)
        if record.ts_ms - base[0] >= SET_RULES[state.tracking].velocity_baseline_ms:
            dt = (record.ts_ms - base[0]) / 1000.0
            raw_vx, raw_vy = (record.x_ft - base[1]) / dt, (record.y_ft - base[2]) / dt
            vx = VELOCITY_SMOOTHING * raw_vx + (1 - VELOCITY_SMOOTHING) * previous.vx_fps
            vy = VELOCITY_SMOOTHING * raw_vy + (1 - VELOCITY_SMOOTHING) * previous.vy_fps
        else:  # inside the baseline: keep the last estimate, measure from the same start
            vx, vy, ref = previous.vx_fps, previous.vy_fps, base
    else:
        vx = vy = 0.0
    state.skaters[key] = Skater(ts_ms=record.ts_ms, x_ft=record.x_ft, y_ft=record.y_ft, vx_fps=vx, vy_fps=vy,
                                ref_ts_ms=ref[0], ref_x_ft=ref[1], ref_y_ft=ref[2])
    if state.phase in ("stoppage", "forming", "set"):
        state.count("positions_in_stoppage")


def _name_of(state: GameState, player_id: int) -> str | None:
    rostered = state.roster.get(str(player_id))
    return rostered.name if rostered is not None else None


def detect(state: GameState, now_ms: int) -> FaceoffSetup | None:
    """Advance stoppage -> forming -> set from the players' positions; return a set-up to predict."""
    if state.phase not in ("stoppage", "forming", "set"):
        return None
    found = nearest_takers(state, now_ms)
    if found is None:
        return None
    dot, home_id, away_id, h_d, a_d, h_v, a_v = found
    if not is_set(h_d, a_d, h_v, a_v, SET_RULES[state.tracking]):
        if max(h_d, a_d) <= FORMING_DISTANCE_FT:
            state.phase, state.dot = "forming", dot
        elif state.phase == "set":
            state.phase = "forming"
        return None
    previous_dot, previous_takers = state.dot, state.takers
    state.phase, state.dot, state.takers = "set", dot, (home_id, away_id)
    setup = FaceoffSetup(game_id=state.game_id, faceoff_seq=state.faceoff_seq, dot=dot,
                         home_player_id=home_id, away_player_id=away_id, setup_index=len(state.predicted),
                         home_player_name=_name_of(state, home_id), away_player_name=_name_of(state, away_id),
                         situation=situation_of(state, dot, now_ms), ts_ms=now_ms,
                         trigger="set" if previous_takers is None else
                         "dot_changed" if previous_dot != dot else "taker_changed",
                         detection=DetectionView(tracking=state.tracking,
                                                 confidence=detection_confidence(state, now_ms, dot, found),
                                                 max_distance_ft=round(max(h_d, a_d), 2),
                                                 max_speed_fps=round(max(h_v, a_v), 2),
                                                 players=seen_players(state, now_ms)))
    # Only the set-up last predicted is current: the same pair still standing there (jitter, more
    # samples, a re-set after a nudge) is nothing new, but a pair that comes back after another one
    # (A -> B -> A) makes A's prediction current again and is published again (issue 18.6).
    if state.predicted and state.predicted[-1].split(":", 2)[2] == setup.pair:
        return None
    if len(state.predicted) >= MAX_SETUPS_PER_STOPPAGE:
        state.count("setups_over_limit")
        return None
    state.predicted.append(setup.combination)
    return setup


def _stop_clock(state: GameState, ts_ms: int) -> None:
    if state.clock_running:
        state.elapsed_ms += ts_ms - state.clock_started_ms
        state.clock_running = False


def _begin_stoppage(state: GameState) -> None:
    if state.phase in ("stoppage", "forming", "set"):
        return  # already stopped (a goal then a whistle): still the same face-off to come
    state.faceoff_seq += 1
    state.phase, state.dot, state.takers, state.predicted = "stoppage", None, None, []


def apply_game(state: GameState, record: GameRecord) -> FaceoffResult | None:
    event = record.event
    if event == "period_start":
        _stop_clock(state, record.ts_ms)
        state.period = record.period or state.period + 1
        state.home_attacks_positive_x = default_home_attacks_positive_x(state.period)
        state.elapsed_ms = 0
        state.phase = "intermission"  # so that the opening face-off counts as a new stoppage
        _begin_stoppage(state)
    elif event in ("whistle", "goal"):
        _stop_clock(state, record.ts_ms)
        if event == "goal":
            state.home_score, state.away_score = record.home_score or 0, record.away_score or 0
        _begin_stoppage(state)
    elif event in ("penalty", "penalty_end"):
        state.home_skaters, state.away_skaters = record.home_skaters or 5, record.away_skaters or 5
        if event == "penalty":
            _stop_clock(state, record.ts_ms)
            _begin_stoppage(state)
    elif event == "clock_start":
        if not state.clock_running:
            state.clock_running, state.clock_started_ms = True, record.ts_ms
        state.phase = "in_play"
    elif event == "faceoff":
        result = _faceoff_result(state, record)
        state.phase = "in_play"
        return result
    elif event == "period_end":
        _stop_clock(state, record.ts_ms)
        state.phase = "intermission"
    elif event == "game_end":
        _stop_clock(state, record.ts_ms)
        state.phase = "final"
    return None


def _faceoff_result(state: GameState, record: GameRecord) -> FaceoffResult | None:
    winner, loser = state.roster.get(str(record.winner_id)), state.roster.get(str(record.loser_id))
    if winner is None or loser is None or winner.side == loser.side:
        state.count("faceoff_results_unmatched")
        return None
    home_won = winner.side == "home"
    home_id, away_id = (record.winner_id, record.loser_id) if home_won else (record.loser_id, record.winner_id)
    assert home_id is not None and away_id is not None
    state.count("faceoffs")
    return FaceoffResult(game_id=state.game_id, ts_ms=record.ts_ms, home_player_id=home_id,
                         away_player_id=away_id, home_won=home_won, faceoff_seq=state.faceoff_seq,
                         situation=situation_of(state, state.dot or "center", record.ts_ms))


def apply_record(state: GameState, record: LineupRecord | PositionRecord | GameRecord,
                 output: StepOutput) -> None:
    """Apply one record to `state`, adding to `output` the set-ups and results it produced."""
    if isinstance(record, LineupRecord):
        apply_lineup(state, record)
        return
    state.last_ts_ms = max(state.last_ts_ms, record.ts_ms)
    if isinstance(record, PositionRecord):
        apply_position(state, record)
        setup = detect(state, record.ts_ms)
        if setup is not None:
            output.setups.append(setup)
        return
    # A producer retry puts the same game record on the stream again, under a new sequence number;
    # applied twice it would open a second stoppage or count a face-off twice. Game events are
    # rare (a few per minute), so the last few keys identify such repeats.
    key = record.model_dump_json()
    if key in state.recent_game_events:
        return
    state.recent_game_events = [*state.recent_game_events, key][-RECENT_GAME_EVENTS:]
    result = apply_game(state, record)
    if result is not None:
        output.results.append(result)
