"""Face-off features known before the drop: the one definition shared by training and the function.

Owns a player's face-off record (career, season, recent results, head-to-head), its update by a
result, and the numeric feature vector of a face-off situation. Pure: no I/O, no AWS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

# A face-off has exactly one winner and one loser, so the league-wide player win rate is 0.5 by
# construction; every rate is shrunk toward it when its sample is small.
LEAGUE_RATE = 0.5
# Pseudo-counts of the shrinkage (empirical-Bayes style: a player with n draws keeps n/(n+k) of his
# own rate). Larger k where the sample is noisier relative to its information.
CAREER_PSEUDO = 100.0
SEASON_PSEUDO = 60.0
RECENT_PSEUDO = 30.0
H2H_PSEUDO = 15.0
RECENT_WINDOW = 50  # face-offs in the "recent" record

Zone = Literal["O", "D", "N"]
ZONE_CODE: dict[str, int] = {"O": 1, "N": 0, "D": -1}

FEATURE_NAMES: tuple[str, ...] = (
    "home_career_rate",
    "away_career_rate",
    "career_logit_diff",
    "home_career_log_n",
    "away_career_log_n",
    "home_season_rate",
    "away_season_rate",
    "home_recent_rate",
    "away_recent_rate",
    "h2h_home_rate",
    "h2h_log_n",
    "zone",
    "period",
    "seconds_elapsed",
    "score_diff",
    "home_skaters",
    "away_skaters",
)


class PlayerFaceoffRecord(BaseModel):
    """What is known of one player's face-offs; also the shape of the player-stats table item."""

    player_id: str
    career_wins: int = 0
    career_total: int = 0
    season: int = 0
    season_wins: int = 0
    season_total: int = 0
    recent: str = ""  # last RECENT_WINDOW results, oldest first, "1" = won
    head_to_head: dict[str, list[int]] = Field(default_factory=dict)  # opponent -> [wins, total]

    def record_result(self, *, won: bool, opponent_id: str, season: int) -> None:
        """Count one face-off taken by this player (mutates in place)."""
        self.career_total += 1
        self.career_wins += int(won)
        if season != self.season:
            if season < self.season:
                # A late result of an earlier season only counts toward the career record.
                pass
            else:
                self.season, self.season_wins, self.season_total = season, 0, 0
        if season == self.season:
            self.season_total += 1
            self.season_wins += int(won)
        self.recent = (self.recent + ("1" if won else "0"))[-RECENT_WINDOW:]
        pair = self.head_to_head.setdefault(opponent_id, [0, 0])
        pair[0] += int(won)
        pair[1] += 1


class FaceoffSituation(BaseModel):
    """The game context of one face-off, from the home team's view."""

    zone: Zone = "N"
    period: int = Field(default=1, ge=1, le=10)
    seconds_elapsed: float = Field(default=0.0, ge=0, le=1200)
    score_diff: int = Field(default=0, ge=-20, le=20)
    home_skaters: int = Field(default=5, ge=3, le=6)
    away_skaters: int = Field(default=5, ge=3, le=6)
    season: int = Field(default=0, ge=0)


def shrunk_rate(wins: float, total: float, pseudo: float, prior: float = LEAGUE_RATE) -> float:
    """Win rate pulled toward `prior` by `pseudo` imaginary face-offs.

    >>> shrunk_rate(10, 10, 10)
    0.75
    """
    return (wins + pseudo * prior) / (total + pseudo)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _season_counts(record: PlayerFaceoffRecord, season: int) -> tuple[int, int]:
    return (record.season_wins, record.season_total) if record.season == season else (0, 0)


def faceoff_features(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord,
                     situation: FaceoffSituation) -> list[float]:
    """The model's input row, in FEATURE_NAMES order, for home taker `home` against `away`."""
    home_career = shrunk_rate(home.career_wins, home.career_total, CAREER_PSEUDO)
    away_career = shrunk_rate(away.career_wins, away.career_total, CAREER_PSEUDO)
    home_season = shrunk_rate(*_season_counts(home, situation.season), SEASON_PSEUDO)
    away_season = shrunk_rate(*_season_counts(away, situation.season), SEASON_PSEUDO)
    home_recent = shrunk_rate(home.recent.count("1"), len(home.recent), RECENT_PSEUDO)
    away_recent = shrunk_rate(away.recent.count("1"), len(away.recent), RECENT_PSEUDO)
    h2h_wins, h2h_total = home.head_to_head.get(away.player_id, [0, 0])
    return [
        home_career,
        away_career,
        _logit(home_career) - _logit(away_career),
        math.log1p(home.career_total),
        math.log1p(away.career_total),
        home_season,
        away_season,
        home_recent,
        away_recent,
        shrunk_rate(h2h_wins, h2h_total, H2H_PSEUDO),
        math.log1p(h2h_total),
        float(ZONE_CODE[situation.zone]),
        float(min(situation.period, 4)),  # every overtime period plays alike
        float(situation.seconds_elapsed),
        float(max(-3, min(3, situation.score_diff))),
        float(situation.home_skaters),
        float(situation.away_skaters),
    ]


def career_rates(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord) -> tuple[float, float]:
    """The two shrunk career win rates (the inputs of the logistic-regression baseline)."""
    return (shrunk_rate(home.career_wins, home.career_total, CAREER_PSEUDO),
            shrunk_rate(away.career_wins, away.career_total, CAREER_PSEUDO))


def confidence(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord) -> float:
    """How much the prediction rests on evidence, 0-1: the weight the shrinkage gives the less-known
    player's own record. A face-off probability is near 0.5 by nature, so its distance from 0.5
    would call every prediction unsure; what makes one doubtful is a taker with few draws on record.
    """
    known = min(home.career_total, away.career_total)
    return round(known / (known + CAREER_PSEUDO), 6)


def feature_rows(pairs: Sequence[tuple[PlayerFaceoffRecord, PlayerFaceoffRecord, FaceoffSituation]]
                 ) -> list[list[float]]:
    """Feature rows of several face-offs, for one grouped model call."""
    return [faceoff_features(home, away, situation) for home, away, situation in pairs]
