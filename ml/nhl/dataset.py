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
    Zone,
    career_rates,
    faceoff_features,
)

LONG_FILE = "faceoffs_2007_2018_pbp.csv"
MODEL_FILE = "faceoffs_2017_2020_pbp.csv"
LATEST_FILE = "faceoffs_2021_2023_early_pbp.csv"
# The long file has the whole of 2017-18 while the 2017-2020 file has only its October: 2017-18 and
# before come from the long file (priors), 2018-19 on from the files with ids, zones and score.
LAST_PRIOR_SEASON = 20172018
VALID_FROM = "2020-01-01"  # early-stopping slice: the last two months of the 2017-2020 file

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
    meta: list[tuple[str, str, str, int, int]] = field(default_factory=list)  # split, date, game, home, away
    labels: list[int] = field(default_factory=list)

    def record(self, player_id: str) -> PlayerFaceoffRecord:
        found = self.records.get(player_id)
        if found is None:
            found = self.records[player_id] = PlayerFaceoffRecord(player_id=player_id)
        return found

    def apply(self, home_id: str, away_id: str, home_won: bool, season: int) -> None:
        self.record(home_id).record_result(won=home_won, opponent_id=away_id, season=season)
        self.record(away_id).record_result(won=not home_won, opponent_id=home_id, season=season)

    def example(self, split: str, date: str, game: str, home_id: str, away_id: str,
                situation: FaceoffSituation, home_won: bool) -> None:
        home, away = self.record(home_id), self.record(away_id)
        self.rows.append(faceoff_features(home, away, situation))
        self.baseline_rows.append(career_rates(home, away))
        self.meta.append((split, date, game, int(home_id), int(away_id)))
        self.labels.append(int(home_won))
        self.apply(home_id, away_id, home_won, situation.season)


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


def replay(data_dir: Path, *, emit_examples: bool = True) -> FaceoffReplay:
    """Replay every face-off of the shared data in time order (see the module docstring)."""
    long = pd.read_csv(data_dir / LONG_FILE)
    model = pd.read_csv(data_dir / MODEL_FILE, low_memory=False)
    latest = pd.read_csv(data_dir / LATEST_FILE)
    ids = _id_by_name(model, latest)
    state = FaceoffReplay()

    long = long[long["season"] <= LAST_PRIOR_SEASON]
    home_keys = long["home_player"].map(name_key)
    away_keys = long["away_player"].map(name_key)
    for season, home_key, away_key, winner in zip(long["season"], home_keys, away_keys,
                                                  long["faceoff_winner"], strict=True):
        home_id = ids.get(home_key, f"name:{home_key}")
        away_id = ids.get(away_key, f"name:{away_key}")
        state.apply(home_id, away_id, bool(winner), int(season))

    model = model[(model["season"] > LAST_PRIOR_SEASON) & model["p1_ID"].notna() & model["p2_ID"].notna()]
    model = model.sort_values(["Date", "nhl_game_id", "Period", "Seconds_Elapsed"], kind="stable")
    for row in model.itertuples(index=False):
        skaters = _skaters(row.Strength)
        home_won = row.Ev_Team == row.Home_Team
        winner, loser = str(int(row.p1_ID)), str(int(row.p2_ID))
        home_id, away_id = (winner, loser) if home_won else (loser, winner)
        if skaters is None or row.Home_Zone not in HOME_ZONE or not emit_examples:
            state.apply(home_id, away_id, home_won, int(row.season))
            continue
        situation = FaceoffSituation(
            zone=HOME_ZONE[row.Home_Zone], period=int(row.Period),
            seconds_elapsed=min(float(row.Seconds_Elapsed), 1200.0),
            score_diff=max(-20, min(20, int(row.Home_Score) - int(row.Away_Score))),
            home_skaters=skaters[0], away_skaters=skaters[1], season=int(row.season))
        split = "valid" if row.Date >= VALID_FROM else "train"
        state.example(split, row.Date, str(row.nhl_game_id), home_id, away_id, situation, home_won)

    latest = latest.dropna(subset=["event_player_1_id", "event_player_2_id"])
    latest = latest.sort_values(["game_date", "game_id", "period", "period_seconds"], kind="stable")
    for row in latest.itertuples(index=False):
        home_won = row.event_team_type == "home"
        winner, loser = str(int(row.event_player_1_id)), str(int(row.event_player_2_id))
        home_id, away_id = (winner, loser) if home_won else (loser, winner)
        skaters = _skaters(f"{int(row.home_skaters or 0)}x{int(row.away_skaters or 0)}")
        if skaters is None or pd.isna(row.x_fixed) or not emit_examples:
            state.apply(home_id, away_id, home_won, int(row.season))
            continue
        # hockeyR's x_fixed puts the home team attacking toward +x in every period.
        zone: Zone = "O" if row.x_fixed > 25 else "D" if row.x_fixed < -25 else "N"
        situation = FaceoffSituation(
            zone=zone, period=int(row.period), seconds_elapsed=min(float(row.period_seconds), 1200.0),
            score_diff=max(-20, min(20, int(row.home_score) - int(row.away_score))),
            home_skaters=skaters[0], away_skaters=skaters[1], season=int(row.season))
        state.example("test", row.game_date, str(row.game_id), home_id, away_id, situation, home_won)
    return state


def examples_frame(state: FaceoffReplay) -> pd.DataFrame:
    """The emitted examples as one table: FEATURE_NAMES, baseline inputs, label and split."""
    frame = pd.DataFrame(state.rows, columns=list(FEATURE_NAMES))
    frame[["base_home_career", "base_away_career"]] = np.asarray(state.baseline_rows)
    frame[["split", "date", "game_id", "home_id", "away_id"]] = pd.DataFrame(state.meta)
    frame["home_won"] = state.labels
    return frame
