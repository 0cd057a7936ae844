"""Big Data Cup 2022 power-play tracking as face-off detection sees it, with the play-by-play's face-offs.

Shared by `ml.nhl.eval_bdc2022` (the per-game score) and `ml.nhl.fit_setup_rule` (the refit).

Time. A clip's `frame_id / 30` is video seconds since the power play began: its opening face-off
(the penalty's stoppage comes first, so the drop is some seconds in) and later ones happen while the
video runs on through stoppages the game clock does not count. A face-off `e` game seconds after the
power play's start therefore happens between `e` and `e + s` video seconds, `s` being the clip's
stoppage total (video length minus clock length, from `pp_info.csv`); that interval, widened by
`WINDOW_SLACK_S`, is the face-off's window.

Place. The play-by-play gives coordinates from the event team's view, so the true dot is known up to
the half-turn of the rink (x, y) -> (-x, -y): both candidates count.

Visible. A face-off is visible when, inside its window, the tracking shows a gathering at one of its
two dots: a skater of each team within `VISIBLE_DISTANCE_FT` of it for `VISIBLE_HOLD_S` without a
break. That test reads the truth (the dot) and positions only, never the set rule nor speeds, so
the rule is scored on the same face-offs whatever its cut-offs and velocity estimate. Face-offs of
one clip get distinct gatherings in time order; the gathering's last sample is taken as the drop.

Scored. The set-up current at the drop is the last sample meeting the set rule between
`SET_LEAD_S` before the gathering and its end (the service publishes every set-up of a stoppage;
the last one is what the puck drops on). Dot right: that sample's dot is one of the two; takers
right: its two tracks' jerseys are the play-by-play's two players (only when both jerseys were read
by the broadcast detection and both players are on the roster).

Each 10 Hz sample (the stream's rate per player) goes through `race_predictor.logic.nhl.detection`
(its position handling, smoothing, staleness and nearest-taker choice) and is kept as one row:
the best dot, its two nearest skaters (track ids), their distances and speeds.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml.nhl import _paths  # noqa: F401
from race_predictor.logic.nhl import detection
from race_predictor.logic.nhl.detection import DOTS, GameState, Rostered, SetRule, nearest_takers
from race_predictor.models.nhl import PositionRecord

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "nhl" / "bdc2022"
PXP_TEAM = {"United States": "USA", "Olympic Athletes from Russia": "ROC"}
STEP_FRAMES = 3  # 30 fps -> 10 Hz
WINDOW_SLACK_S = 3.0
# inside the face-off circle (radius 15 ft, shared/data/README.md geometry facts) for a second
VISIBLE_DISTANCE_FT, VISIBLE_HOLD_S = 15.0, 1.0
SET_LEAD_S = 3.0  # a set-up may form this long before the gathering test sees one


def dot_name(x: float, y: float) -> str:
    return min(DOTS, key=lambda name: math.hypot(DOTS[name][0] - x, DOTS[name][1] - y))


def half_turn(name: str) -> str:
    x, y = DOTS[name]
    return dot_name(-x, -y)


@dataclass
class Faceoff:
    """One play-by-play face-off inside a tracked clip."""

    clip: str
    clock_seconds: int
    lo_s: float  # window, video seconds of the clip
    hi_s: float
    dots: tuple[str, str]  # the dot and its half-turn
    truth_dot: str
    taker_jerseys: frozenset[int] | None  # None when a taker is not on the roster
    gathering: tuple[float, float] | None = None  # (start, drop) video seconds, when visible


@dataclass
class Clip:
    game: str
    name: str
    home: str
    frame: pd.DataFrame  # one row per 10 Hz sample: detection's view (see module docstring)
    jerseys: dict[int, int]  # track id -> jersey read most often (100 = unread is left out)
    # per-sample (dot -> (home distance, away distance, home speed, away speed)) of the two true dots,
    # for the visibility test: computed by the same nearest-skater choice, restricted to one dot
    at_dot: dict[str, np.ndarray] = field(default_factory=dict)
    faceoffs: list[Faceoff] = field(default_factory=list)

    @property
    def keys(self) -> np.ndarray:
        """Per sample, the set-up it would be (dot and the two tracks)."""
        if "key" not in self.frame:
            self.frame["key"] = (self.frame["dot"] + ":" + self.frame["home_track"].astype(str) + ":"
                                 + self.frame["away_track"].astype(str))
        return self.frame["key"].to_numpy()


def _info_for(pp_info: pd.DataFrame, game: str, home: str, away: str, number: int) -> pd.Series | None:
    # pp_info names one game "USA at Finland" where its folder says "Finland at USA"
    names = {game, f"{game[:10]} {home} at {away}"}
    info = pp_info[pp_info["game_name"].isin(names) & (pp_info["penalty_number"] == number)]
    return None if info.empty else info.iloc[0]


def _nearest_at(state: GameState, now_ms: int, dot: str) -> tuple[float, float, float, float] | None:
    saved = dict(DOTS)
    try:
        DOTS.clear()
        DOTS[dot] = saved[dot]
        found = nearest_takers(state, now_ms)
    finally:
        DOTS.clear()
        DOTS.update(saved)
    return None if found is None else (found[3], found[4], found[5], found[6])


def scan_clip(tracking: pd.DataFrame, home: str, dots_of_interest: set[str]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Feed the tracking through detection at 10 Hz; one row per sample (see the module docstring)."""
    state = GameState(game_id="bdc", phase="stoppage", tracking="broadcast")
    state.roster = {str(t): Rostered(side="home" if team == home else "away", position="C", shoots="L")
                    for t, team in tracking.groupby("track_id")["team_name"].first().items()}
    rows: list[tuple[float, str, int, int, float, float, float, float]] = []
    at_dot: dict[str, list[tuple[float, float, float, float]]] = {d: [] for d in dots_of_interest}
    frames = tracking[tracking["frame_id"] % STEP_FRAMES == 0]
    nan4 = (math.nan, math.nan, math.nan, math.nan)
    for frame_id, group in frames.groupby("frame_id", sort=True):
        ts_ms = int(int(frame_id) * 1000 / 30)  # type: ignore[call-overload]
        for row in group.itertuples(index=False):
            detection.apply_position(state, PositionRecord(
                type="position", game_id="bdc", ts_ms=ts_ms, player_id=int(row.track_id),
                x_ft=max(-105.0, min(105.0, row.x_ft - 100.0)), y_ft=max(-47.0, min(47.0, row.y_ft - 42.5))))
        found = nearest_takers(state, ts_ms)
        if found is None:
            rows.append((ts_ms / 1000, "", -1, -1, math.nan, math.nan, math.nan, math.nan))
        else:
            rows.append((ts_ms / 1000, *found))
        for dot in dots_of_interest:
            at_dot[dot].append(_nearest_at(state, ts_ms, dot) or nan4)
    frame = pd.DataFrame(rows, columns=["t", "dot", "home_track", "away_track",
                                        "home_d", "away_d", "home_v", "away_v"])
    frame["max_d"] = frame[["home_d", "away_d"]].max(axis=1)
    frame["max_v"] = frame[["home_v", "away_v"]].max(axis=1)
    return frame, {d: np.asarray(v, dtype=float).reshape(-1, 4) for d, v in at_dot.items()}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True."""
    runs: list[tuple[int, int]] = []
    start = None
    for i, value in enumerate(mask):
        if value and start is None:
            start = i
        elif not value and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def gatherings(clip: Clip, faceoff: Faceoff) -> list[tuple[float, float]]:
    """Gatherings at one of the face-off's dots inside its window (see Visible above), in time order."""
    t = clip.frame["t"].to_numpy()
    inside = (t >= faceoff.lo_s) & (t <= faceoff.hi_s)
    found: list[tuple[float, float]] = []
    for dot in faceoff.dots:
        view = clip.at_dot[dot]
        with np.errstate(invalid="ignore"):
            ok = inside & (np.fmax(view[:, 0], view[:, 1]) <= VISIBLE_DISTANCE_FT)
        found += [(float(t[a]), float(t[b])) for a, b in _runs(ok) if t[b] - t[a] >= VISIBLE_HOLD_S]
    return sorted(found)


def assign_gatherings(clip: Clip) -> None:
    """Give each face-off (in time order) its own gathering, later than the one before: the last
    candidate that still leaves the later face-offs one each (a gathering is where the players
    stand when the puck drops, so of several in a window the latest is the face-off's)."""
    candidates = [gatherings(clip, f) for f in clip.faceoffs]
    taken_after = math.inf
    for faceoff, options in zip(reversed(clip.faceoffs), reversed(candidates), strict=True):
        usable = [g for g in options if g[1] < taken_after]
        faceoff.gathering = usable[-1] if usable else None
        if faceoff.gathering is not None:
            taken_after = faceoff.gathering[0]


def load(data: Path = DEFAULT_DATA, handling: SetRule | None = None) -> dict[str, list[Clip]]:
    """Every clip with play-by-play face-offs in its window, by game (folder name).

    `handling`: the broadcast rule's position handling (velocity baseline, staleness) to scan with,
    instead of the shipped one (the fit tries several); its cut-offs play no part here.
    """
    saved = detection.SET_RULES["broadcast"]
    if handling is not None:
        detection.SET_RULES["broadcast"] = handling
    try:
        return _load(data)
    finally:
        detection.SET_RULES["broadcast"] = saved


def _load(data: Path) -> dict[str, list[Clip]]:
    pxp = pd.read_csv(data / "pxp_womens_oly_2022.csv")
    pxp["team"] = pxp["team_name"].str.replace("Olympic (Women) - ", "", regex=False).replace(PXP_TEAM)
    pxp["opp"] = pxp["opp_team_name"].str.replace("Olympic (Women) - ", "", regex=False).replace(PXP_TEAM)
    faceoffs = pxp[pxp["event"] == "Faceoff Win"]
    pp_info = pd.read_csv(data / "TrackingData" / "pp_info.csv")
    games: dict[str, list[Clip]] = {}
    for path in sorted((data / "TrackingData").glob("*/* PP*.csv")):
        if path.name.startswith("videoShotsInfo"):
            continue
        game = path.parent.name
        away, home = re.fullmatch(r"\d{4}-\d{2}-\d{2} (.+) at (.+)", game).groups()  # type: ignore[union-attr]
        number = int(re.search(r"PP(\d+)", path.name).group(1))  # type: ignore[union-attr]
        info = _info_for(pp_info, game, home, away, number)
        if info is None or info["start_period"] != info["end_period"]:
            continue  # no clock window, or one spanning an intermission
        day = int(game[8:10])
        in_game = faceoffs[(faceoffs["game_date"] == f"{day}/2/2022") & faceoffs["team"].isin([home, away])
                           & faceoffs["opp"].isin([home, away]) & (faceoffs["period"] == info["start_period"])]
        start, end = int(info["start_game_clock_seconds"]), int(info["end_game_clock_seconds"])
        window = in_game[in_game["clock_seconds"].between(end, start)].sort_values("clock_seconds", ascending=False)
        if window.empty:
            continue
        stoppage = max(0, (int(info["end_video_clock_seconds"]) - int(info["start_video_clock_seconds"])) - (start - end))
        roster = pd.read_csv(path.parent / f"{game} roster.csv")
        side_team = {"home": home, "away": away}
        jersey_by_name = {(side_team[r.team], r.player): int(r.jn) for r in roster.itertuples()}
        found: list[Faceoff] = []
        for row in window.itertuples():
            truth = dot_name(row.x_coord - 100.0, row.y_coord - 42.5)
            pair = (jersey_by_name.get((row.team, row.player_name)), jersey_by_name.get((row.opp, row.player_name_2)))
            elapsed = start - int(row.clock_seconds)
            found.append(Faceoff(clip=path.name, clock_seconds=int(row.clock_seconds),
                                 lo_s=elapsed - WINDOW_SLACK_S, hi_s=elapsed + stoppage + WINDOW_SLACK_S,
                                 dots=(truth, half_turn(truth)), truth_dot=truth,
                                 taker_jerseys=None if None in pair else frozenset(p for p in pair if p is not None)))
        tracking = pd.read_csv(path)
        frame, at_dot = scan_clip(tracking, home, {d for f in found for d in f.dots})
        read = tracking[tracking["jersey_number"] != 100]
        jerseys = {int(t): int(Counter(g["jersey_number"]).most_common(1)[0][0]) for t, g in read.groupby("track_id")}
        clip = Clip(game=game, name=path.name, home=home, frame=frame, jerseys=jerseys, at_dot=at_dot, faceoffs=found)
        assign_gatherings(clip)
        games.setdefault(game, []).append(clip)
    return games


@dataclass
class GameScore:
    game: str
    faceoffs: int = 0  # play-by-play face-offs inside tracked windows
    visible: int = 0
    dot_right: int = 0
    takers_identifiable: int = 0  # dot right, both jerseys read, both players on the roster
    takers_right: int = 0
    setups_outside: int = 0  # set-ups (new dot/pair) outside every visible face-off's gathering


def set_mask(frame: pd.DataFrame, distance_ft: float, speed_fps: float) -> np.ndarray:
    """`detection.is_set` on every sample (the same comparison, vectorised)."""
    with np.errstate(invalid="ignore"):
        return ((frame["max_d"] <= distance_ft) & (frame["max_v"] <= speed_fps)).to_numpy()


def score_game(game: str, clips: list[Clip], distance_ft: float, speed_fps: float) -> GameScore:
    result = GameScore(game)
    for clip in clips:
        t = clip.frame["t"].to_numpy()
        is_set = set_mask(clip.frame, distance_ft, speed_fps)
        covered = np.zeros(len(t), dtype=bool)
        for faceoff in clip.faceoffs:
            result.faceoffs += 1
            if faceoff.gathering is None:
                continue
            result.visible += 1
            start, drop = faceoff.gathering
            span = (t >= start - SET_LEAD_S) & (t <= drop)
            covered |= span
            hits = np.flatnonzero(span & is_set)
            if not len(hits):
                continue
            last = clip.frame.iloc[hits[-1]]
            if last["dot"] not in faceoff.dots:
                continue
            result.dot_right += 1
            got = {clip.jerseys.get(int(last["home_track"])), clip.jerseys.get(int(last["away_track"]))}
            if faceoff.taker_jerseys is not None and None not in got:
                result.takers_identifiable += 1
                result.takers_right += int(got == set(faceoff.taker_jerseys))
        keys = clip.keys[is_set]
        starts = np.ones(len(keys), dtype=bool)
        starts[1:] = keys[1:] != keys[:-1]
        result.setups_outside += int((starts & ~covered[is_set]).sum())
    return result
