"""Face-off training examples from the shared NHL play-by-play, with features known before each drop.

Owns reading the three face-off files, mapping names of the long 2007-2018 file to NHL ids, and
replaying every face-off in order through `race_predictor.logic.nhl.features` (the same code the function
runs), so that each example only sees face-offs that came before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ml.nhl import _paths  # noqa: F401  (puts services/race_predictor on sys.path)
from race_predictor.logic.nhl.features import (
    FEATURE_NAMES,
    FaceoffSituation,
    PlayerFaceoffRecord,
    Side,
    Zone,
    career_rates,
    faceoff_features,
    record_faceoff,
)

LONG_FILE = "faceoffs_2007_2018_pbp.csv"
MODEL_FILE = "faceoffs_2017_2020_pbp.csv"
LATEST_FILE = "faceoffs_2021_2023_early_pbp.csv"
# The long file has the whole of 2017-18 while the 2017-2020 file has only its October: 2017-18 and
# before come from the long file (priors), 2018-19 on from the files with ids, zones and score.
LAST_PRIOR_SEASON = 20172018
# The latest season in shared/data (October-November 2023): held out, never trained on, scored by
# replaying it through the API logic (ml/nhl/replay.py).
HOLDOUT_SEASON = 20232024

HOME_ZONE: dict[str, Zone] = {"Off": "O", "Def": "D", "Neu": "N"}


def name_key(name: str) -> str:
    """Compare names across files that spell them "ANDY.MCDONALD", "NAZEM KADRI", "Jeff.Carter"."""
    return re.sub(r"[^A-Z]", "", str(name).upper())


@dataclass
class FaceoffReplay:
    """Player records as of the last face-off replayed, plus the examples emitted on the way."""

    records: dict[str, PlayerFaceoffRecord] = field(default_factory=dict)
    rows: list[list[float]] = field(default_factory=list)
    baseline_rows: list[tuple[float, float]] = field(default_factory=list)
    meta: list[tuple[str, str, str, int, int, int]] = field(default_factory=list)  # split, date, game, home, away, season
    situations: list[FaceoffSituation] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    # Every hold-out face-off in order, (home, away, situation, home_won, scored): the ones without a
    # known situation are not examples but still count in the players' records, so a replay through
    # the API posts their results too (and reaches the same player state).
    holdout_sequence: list[tuple[int, int, FaceoffSituation, bool, bool]] = field(default_factory=list)

    def record(self, player_id: str) -> PlayerFaceoffRecord:
        found = self.records.get(player_id)
        if found is None:
            found = self.records[player_id] = PlayerFaceoffRecord(player_id=player_id)
        return found

    def apply(self, home_id: str, away_id: str, home_won: bool, season: int, home_side: Side | None = None) -> None:
        record_faceoff(self.record(home_id), self.record(away_id), home_won=home_won, season=season,
                       home_side=home_side)

    def example(self, split: str, date: str, game: str, home_id: str, away_id: str,
                situation: FaceoffSituation, home_won: bool) -> None:
        home, away = self.record(home_id), self.record(away_id)
        self.rows.append(faceoff_features(home, away, situation))
        self.baseline_rows.append(career_rates(home, away))
        self.meta.append((split, date, game, int(home_id), int(away_id), situation.season))
        self.situations.append(situation)
        self.labels.append(int(home_won))
        if split == "test":
            self.holdout_sequence.append((int(home_id), int(away_id), situation, home_won, True))
        self.apply(home_id, away_id, home_won, situation.season, situation.home_side)

    def unscored(self, split: str, home_id: str, away_id: str, home_won: bool, season: int, zone: Zone | None,
                 home_side: Side | None) -> None:
        """A face-off without a known situation: counted in the records, not an example."""
        if split == "test":
            situation = FaceoffSituation(zone=zone or "N", season=season, home_side=home_side if zone else None)
            self.holdout_sequence.append((int(home_id), int(away_id), situation, home_won, False))
            home_side = situation.home_side
        self.apply(home_id, away_id, home_won, season, home_side)


def _id_by_name(model: pd.DataFrame, latest: pd.DataFrame) -> dict[str, str]:
    pairs = pd.concat([
        model[["p1_name", "p1_ID"]].set_axis(["name", "pid"], axis=1),
        model[["p2_name", "p2_ID"]].set_axis(["name", "pid"], axis=1),
        latest[["event_player_1_name", "event_player_1_id"]].set_axis(["name", "pid"], axis=1),
        latest[["event_player_2_name", "event_player_2_id"]].set_axis(["name", "pid"], axis=1),
    ]).dropna()
    pairs["key"] = pairs["name"].map(name_key)
    pairs["pid"] = pairs["pid"].astype(np.int64).astype(str)
    # Two players sharing a name (there are a few): the name goes to the one with more draws.
    counts = pairs.groupby(["key", "pid"]).size().reset_index(name="n").sort_values("n")
    return dict(zip(counts["key"], counts["pid"], strict=True))


def _skaters(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d)[xv](\d)", str(text))
    if not match:
        return None
    home, away = int(match.group(1)), int(match.group(2))
    return (home, away) if 3 <= home <= 6 and 3 <= away <= 6 else None


def _side(zone: Zone, y_home_frame: float) -> Side | None:
    """End-zone dot side from the home taker's view, given y in a frame where home attacks +x."""
    if zone == "N" or not y_home_frame or y_home_frame != y_home_frame:
        return None
    return "L" if y_home_frame > 0 else "R"


def replay(data_dir: Path, *, emit_examples: bool = True, holdout_season: int = HOLDOUT_SEASON,
           until_season: int | None = None) -> FaceoffReplay:
    """Replay every face-off of the shared data in time order (see the module docstring).

    Examples of seasons before `holdout_season` are split "train", of that season "test"; with
    `until_season` the replay stops before that season (the player stats a hold-out starts from).
    """
    long = pd.read_csv(data_dir / LONG_FILE)
    model = pd.read_csv(data_dir / MODEL_FILE, low_memory=False)
    latest = pd.read_csv(data_dir / LATEST_FILE)
    ids = _id_by_name(model, latest)
    state = FaceoffReplay()

    def split_of(season: int) -> str:
        return "test" if season == holdout_season else "train" if season < holdout_season else "later"

    long = long[long["season"] <= LAST_PRIOR_SEASON]
    home_keys = long["home_player"].map(name_key)
    away_keys = long["away_player"].map(name_key)
    for season, home_key, away_key, winner in zip(long["season"], home_keys, away_keys,
                                                  long["faceoff_winner"], strict=True):
        home_id = ids.get(home_key, f"name:{home_key}")
        away_id = ids.get(away_key, f"name:{away_key}")
        state.apply(home_id, away_id, bool(winner), int(season))

    model = model[(model["season"] > LAST_PRIOR_SEASON) & model["p1_ID"].notna() & model["p2_ID"].notna()].copy()
    model = model.sort_values(["Date", "nhl_game_id", "Period", "Seconds_Elapsed"], kind="stable")
    # hockey_scraper keeps the rink's own coordinates: which end the home team attacks in a period
    # is read from where its offensive-zone (and defensive-zone) draws were taken.
    toward = np.where(model["Home_Zone"] == "Off", np.sign(model["xC"]),
                      np.where(model["Home_Zone"] == "Def", -np.sign(model["xC"]), 0.0))
    model["home_dir"] = np.sign(pd.Series(toward, index=model.index).groupby(
        [model["nhl_game_id"], model["Period"]]).transform("sum"))
    for row in model.itertuples(index=False):
        if until_season is not None and row.season >= until_season:
            break
        skaters = _skaters(row.Strength)
        home_won = row.Ev_Team == row.Home_Team
        winner, loser = str(int(row.p1_ID)), str(int(row.p2_ID))
        home_id, away_id = (winner, loser) if home_won else (loser, winner)
        zone = HOME_ZONE.get(row.Home_Zone)
        side = _side(zone, float(row.yC) * float(row.home_dir)) if zone is not None else None
        if skaters is None or zone is None or not emit_examples:
            state.unscored(split_of(int(row.season)), home_id, away_id, home_won, int(row.season), zone, side)
            continue
        situation = FaceoffSituation(
            zone=zone, period=int(row.Period), seconds_elapsed=min(float(row.Seconds_Elapsed), 1200.0),
            score_diff=max(-20, min(20, int(row.Home_Score) - int(row.Away_Score))),
            home_skaters=skaters[0], away_skaters=skaters[1], season=int(row.season), home_side=side)
        state.example(split_of(int(row.season)), row.Date, str(row.nhl_game_id), home_id, away_id, situation,
                      home_won)

    latest = latest.dropna(subset=["event_player_1_id", "event_player_2_id"])
    latest = latest.sort_values(["game_date", "game_id", "period", "period_seconds"], kind="stable")
    for row in latest.itertuples(index=False):
        if until_season is not None and row.season >= until_season:
            break
        home_won = row.event_team_type == "home"
        winner, loser = str(int(row.event_player_1_id)), str(int(row.event_player_2_id))
        home_id, away_id = (winner, loser) if home_won else (loser, winner)
        skaters = _skaters(f"{int(row.home_skaters or 0)}x{int(row.away_skaters or 0)}")
        if pd.isna(row.x_fixed):
            state.unscored(split_of(int(row.season)), home_id, away_id, home_won, int(row.season), None, None)
            continue
        # hockeyR's x_fixed/y_fixed put the home team attacking toward +x in every period.
        end: Zone = "O" if row.x_fixed > 25 else "D" if row.x_fixed < -25 else "N"
        side = _side(end, float(row.y_fixed))
        if skaters is None or not emit_examples:
            state.unscored(split_of(int(row.season)), home_id, away_id, home_won, int(row.season), end, side)
            continue
        situation = FaceoffSituation(
            zone=end, period=int(row.period), seconds_elapsed=min(float(row.period_seconds), 1200.0),
            score_diff=max(-20, min(20, int(row.home_score) - int(row.away_score))),
            home_skaters=skaters[0], away_skaters=skaters[1], season=int(row.season), home_side=side)
        state.example(split_of(int(row.season)), row.game_date, str(row.game_id), home_id, away_id, situation,
                      home_won)
    return state


def examples_frame(state: FaceoffReplay) -> pd.DataFrame:
    """The emitted examples as one table: FEATURE_NAMES, baseline inputs, label and split."""
    frame = pd.DataFrame(state.rows, columns=list(FEATURE_NAMES))
    frame[["base_home_career", "base_away_career"]] = np.asarray(state.baseline_rows)
    frame[["split", "date", "game_id", "home_id", "away_id", "season"]] = pd.DataFrame(state.meta)
    frame["home_won"] = state.labels
    return frame
