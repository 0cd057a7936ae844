"""Checks face-off detection on real tracking: the Big Data Cup 2022 broadcast-derived power plays.

For every power-play clip whose game has play-by-play, the play-by-play face-offs inside the clip's
clock window are the truth (dot, winner, loser -> jerseys through the roster). The tracking (30 fps,
corner origin x 0-200, y 0-85) is moved to centre-ice origin, thinned to 10 Hz and fed through
`race_predictor.logic.nhl.detection` (its position handling, nearest-taker choice and set rule). There are
no whistles in this data, so every moment is treated as a possible stoppage and each maximal run
of "set" samples is one detected face-off.

A face-off counts as *covered* when the tracking shows a gathering at its dot at all (loose: one
skater of each team within 12 ft of the dot, both under 6 ft/s, for 0.5 s); it is *detected* when
the shipped rule sets a face-off at that dot, and *right* when the two takers' jerseys are the
play-by-play's two players. The play-by-play's coordinates are given from the event team's view,
so a dot is compared up to the half-turn of the rink (x, y) -> (-x, -y). Track ids stand in for
player ids; jerseys come from the broadcast's jersey detection (100 = not read).

    .venv/bin/python -m ml.nhl.eval_bdc2022 --data ../shared/data/nhl/bdc2022
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ml.nhl import _paths  # noqa: F401
from race_predictor.logic.nhl import detection
from race_predictor.logic.nhl.detection import DOTS, GameState, Rostered, nearest_takers
from race_predictor.models.nhl import PositionRecord

ROOT = Path(__file__).resolve().parents[2]
PXP_TEAM = {"United States": "USA", "Olympic Athletes from Russia": "ROC"}
STEP_FRAMES = 3  # 30 fps -> 10 Hz, about the stream's rate per player
LOOSE_DISTANCE_FT, LOOSE_SPEED_FPS, LOOSE_HOLD_S = 12.0, 6.0, 0.5


def dot_name(x: float, y: float) -> str:
    return min(DOTS, key=lambda name: math.hypot(DOTS[name][0] - x, DOTS[name][1] - y))


def half_turn(name: str) -> str:
    x, y = DOTS[name]
    return dot_name(-x, -y)


@dataclass
class Episode:
    start_s: float
    end_s: float
    dot: str
    home_track: int
    away_track: int


def scan(tracking: pd.DataFrame, home_team: str, distance_ft: float, speed_fps: float) -> list[Episode]:
    """Runs of samples meeting a set rule with the given cut-offs (the shipped ones by default)."""
    state = GameState(game_id="bdc", phase="stoppage")
    state.roster = {str(t): Rostered(side="home" if team == home_team else "away", position="C", shoots="L")
                    for t, team in tracking.groupby("track_id")["team_name"].first().items()}
    episodes: list[Episode] = []
    current: Episode | None = None
    frames = tracking[tracking["frame_id"] % STEP_FRAMES == 0]
    for frame_id, rows in frames.groupby("frame_id", sort=True):
        ts_ms = int(frame_id * 1000 / 30)
        for row in rows.itertuples(index=False):
            detection.apply_position(state, PositionRecord(
                type="position", game_id="bdc", ts_ms=ts_ms, player_id=int(row.track_id),
                x_ft=max(-105.0, min(105.0, row.x_ft - 100.0)), y_ft=max(-47.0, min(47.0, row.y_ft - 42.5))))
        found = nearest_takers(state, ts_ms)
        ok = found is not None and max(found[3], found[4]) <= distance_ft and max(found[5], found[6]) <= speed_fps
        if ok and found is not None:
            key = (found[0], found[1], found[2])
            if current is not None and (current.dot, current.home_track, current.away_track) == key \
                    and ts_ms / 1000 - current.end_s <= 1.0:
                current.end_s = ts_ms / 1000
            else:
                current = Episode(ts_ms / 1000, ts_ms / 1000, *key)
                episodes.append(current)
    return episodes


def jersey_of(tracking: pd.DataFrame) -> dict[int, int]:
    read = tracking[tracking["jersey_number"] != 100]
    return {int(t): int(Counter(g["jersey_number"]).most_common(1)[0][0]) for t, g in read.groupby("track_id")}


def evaluate(data: Path) -> dict[str, int]:
    pxp = pd.read_csv(data / "pxp_womens_oly_2022.csv")
    pxp["team"] = pxp["team_name"].str.replace("Olympic (Women) - ", "", regex=False).replace(PXP_TEAM)
    pxp["opp"] = pxp["opp_team_name"].str.replace("Olympic (Women) - ", "", regex=False).replace(PXP_TEAM)
    faceoffs = pxp[pxp["event"] == "Faceoff Win"]
    pp_info = pd.read_csv(data / "TrackingData" / "pp_info.csv")
    totals: Counter[str] = Counter()
    for clip in sorted((data / "TrackingData").glob("*/* PP*.csv")):
        if clip.name.startswith("videoShotsInfo"):
            continue
        game = clip.parent.name
        away, home = re.fullmatch(r"\d{4}-\d{2}-(\d{2}) (.+) at (.+)", game).groups()[1:]  # type: ignore[union-attr]
        day = int(game[8:10])
        number = int(re.search(r"PP(\d+)", clip.name).group(1))  # type: ignore[union-attr]
        info = pp_info[(pp_info["game_name"] == game) & (pp_info["penalty_number"] == number)]
        if info.empty:
            continue
        info = info.iloc[0]
        in_game = faceoffs[(faceoffs["game_date"] == f"{day}/2/2022") & faceoffs["team"].isin([home, away])
                           & faceoffs["opp"].isin([home, away])]
        if in_game.empty:
            continue  # no play-by-play for this game
        window = in_game[(in_game["period"] == info["start_period"])
                         & in_game["clock_seconds"].between(info["end_game_clock_seconds"], info["start_game_clock_seconds"])]
        roster = pd.read_csv(clip.parent / f"{game} roster.csv")
        side_team = {"home": home, "away": away}
        jersey_by_name = {(side_team[r.team], r.player): int(r.jn) for r in roster.itertuples()}
        tracking = pd.read_csv(clip)
        shipped = scan(tracking, home, detection.SET_DISTANCE_FT, detection.SET_SPEED_FPS)
        loose = [e for e in scan(tracking, home, LOOSE_DISTANCE_FT, LOOSE_SPEED_FPS)
                 if e.end_s - e.start_s >= LOOSE_HOLD_S]
        jerseys = jersey_of(tracking)
        used_loose: set[int] = set()
        used_shipped: set[int] = set()
        for faceoff in window.sort_values("clock_seconds", ascending=False).itertuples():
            totals["faceoffs_in_tracked_windows"] += 1
            truth = dot_name(faceoff.x_coord - 100.0, faceoff.y_coord - 42.5)
            dots = {truth, half_turn(truth)}
            covered = next((k for k, e in enumerate(loose) if k not in used_loose and e.dot in dots), None)
            if covered is None:
                continue
            used_loose.add(covered)
            totals["covered"] += 1
            hit = next((k for k, e in enumerate(shipped) if k not in used_shipped and e.dot in dots), None)
            if hit is None:
                continue
            used_shipped.add(hit)
            totals["detected_right_dot"] += 1
            episode = shipped[hit]
            want = {jersey_by_name.get((faceoff.team, faceoff.player_name)),
                    jersey_by_name.get((faceoff.opp, faceoff.player_name_2))}
            got = {jerseys.get(episode.home_track), jerseys.get(episode.away_track)}
            if None not in got and got == want:
                totals["detected_right_dot_and_players"] += 1
            elif None in got:
                totals["detected_taker_jersey_unread"] += 1
        totals["clips"] += 1
    return dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhl" / "bdc2022")
    parser.add_argument("--distance", type=float, default=None, help="override the set distance (sensitivity)")
    args = parser.parse_args()
    if args.distance is not None:
        detection.SET_DISTANCE_FT = args.distance
    print(f"set rule: distance <= {detection.SET_DISTANCE_FT} ft, speed <= {detection.SET_SPEED_FPS} ft/s")
    print(evaluate(args.data))


if __name__ == "__main__":
    main()
