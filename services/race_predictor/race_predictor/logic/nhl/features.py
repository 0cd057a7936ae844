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

# Online rating of each taker (issue 18.5): a logit-scale strength updated by every result, Elo /
# Bradley-Terry style: P(home wins) = sigmoid(r_home - r_away + side terms + HOME_EDGE), and after
# the result each rating moves by RATING_STEP x (outcome - P). Chosen on October 2021 (trained on
# 2018-20; grid in ml/nhl/MODEL_CARD.md), never on the 2023-24 hold-out.
RATING_PRIOR = -0.3  # a taker new to the data is seldom a regular centre: he starts below the average
RATING_STEP = 0.01
SIDE_STEP = 0.03  # a taker's extra strength on his left or right side of an end-zone dot (handedness)
SEASON_DECAY = 0.9  # what is left of a rating's distance from the prior after each season
HOME_EDGE = 0.04  # home takers win ~51% (the home centre puts his stick down last)

Side = Literal["L", "R"]
OTHER_SIDE: dict[str, Side] = {"L": "R", "R": "L"}

FEATURE_NAMES: tuple[str, ...] = (
    "rating_diff",
    "side_diff",
    "career_logit_diff",
    "home_career_log_n",
    "away_career_log_n",
    "home_season_rate",
    "away_season_rate",
    "zone",
    "strength_diff",
    "zone_x_strength",
    "score_diff",
    "period",
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
    rating: float = RATING_PRIOR  # online strength (logit scale), as of `rating_year`
    side_left: float = 0.0  # extra strength on the dot to his left (as he faces the other taker's goal)
    side_right: float = 0.0
    rating_year: int = 0  # first year of the season the rating was last brought to (0: never rated)

    def ratings_as_of(self, season: int) -> tuple[float, float, float]:
        """(rating, side_left, side_right) decayed toward the prior for every season since rating_year."""
        gap = max(0, season_year(season) - self.rating_year) if self.rating_year else 0
        factor = SEASON_DECAY ** gap
        return (RATING_PRIOR + (self.rating - RATING_PRIOR) * factor, self.side_left * factor,
                self.side_right * factor)

    def apply_rating(self, change: RatingChange, season: int) -> None:
        """Bring the rating to `season` (decay), then add the change of one result (mutates in place)."""
        year = season_year(season)
        if year > self.rating_year:
            self.rating, self.side_left, self.side_right = self.ratings_as_of(season)
            self.rating_year = year
        self.rating += change.rating
        if change.side == "L":
            self.side_left += change.side_delta
        elif change.side == "R":
            self.side_right += change.side_delta

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


def season_year(season: int) -> int:
    """20232024 -> 2023 (a bare year is kept; 0, an unknown season, stays 0)."""
    return season // 10000 if season > 9999 else season


class RatingChange(BaseModel):
    """What one result does to one taker's rating: add `rating`; add `side_delta` on `side`."""

    rating: float
    side: Side | None = None
    side_delta: float = 0.0


def side_term(record: PlayerFaceoffRecord, side: Side | None, season: int) -> float:
    if side is None:
        return 0.0
    _, left, right = record.ratings_as_of(season)
    return left if side == "L" else right


def rating_win_probability(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord, season: int,
                           home_side: Side | None) -> float:
    """The rating system's own P(home wins), the one its update uses."""
    away_side = None if home_side is None else OTHER_SIDE[home_side]
    margin = (home.ratings_as_of(season)[0] - away.ratings_as_of(season)[0] + side_term(home, home_side, season)
              - side_term(away, away_side, season) + HOME_EDGE)
    return 1.0 / (1.0 + math.exp(-margin))


def rating_changes(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord, *, home_won: bool, season: int,
                   home_side: Side | None) -> tuple[RatingChange, RatingChange]:
    """The two takers' changes from one result, both computed from the records before it.

    Additive, so applying each to its player's latest record (a retry after a concurrent write)
    gives the same state as applying them in order: the loader and `/faceoffs/results` agree.
    """
    surprise = float(home_won) - rating_win_probability(home, away, season, home_side)
    away_side = None if home_side is None else OTHER_SIDE[home_side]
    return (RatingChange(rating=RATING_STEP * surprise, side=home_side, side_delta=SIDE_STEP * surprise),
            RatingChange(rating=-RATING_STEP * surprise, side=away_side, side_delta=-SIDE_STEP * surprise))


def record_faceoff(home: PlayerFaceoffRecord, away: PlayerFaceoffRecord, *, home_won: bool, season: int,
                   home_side: Side | None = None) -> None:
    """Count one face-off in both takers' records and ratings (mutates both): what the loader does."""
    home_change, away_change = rating_changes(home, away, home_won=home_won, season=season, home_side=home_side)
    home.apply_rating(home_change, season)
    away.apply_rating(away_change, season)
    home.record_result(won=home_won, opponent_id=away.player_id, season=season)
    away.record_result(won=not home_won, opponent_id=home.player_id, season=season)


class FaceoffSituation(BaseModel):
    """The game context of one face-off, from the home team's view."""

    zone: Zone = "N"
    period: int = Field(default=1, ge=1, le=10)
    seconds_elapsed: float = Field(default=0.0, ge=0, le=1200)
    score_diff: int = Field(default=0, ge=-20, le=20)
    home_skaters: int = Field(default=5, ge=3, le=6)
    away_skaters: int = Field(default=5, ge=3, le=6)
    season: int = Field(default=0, ge=0)
    # The end-zone dot's side from the home taker's view (his left or right as he faces the away
    # goal); None at centre and neutral-zone dots or when unknown. The away taker has the other side.
    home_side: Side | None = None


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
    season = situation.season
    home_side = situation.home_side
    away_side = None if home_side is None else OTHER_SIDE[home_side]
    zone = float(ZONE_CODE[situation.zone])
    strength = float(max(-2, min(2, situation.home_skaters - situation.away_skaters)))
    return [
        home.ratings_as_of(season)[0] - away.ratings_as_of(season)[0],
        side_term(home, home_side, season) - side_term(away, away_side, season),
        _logit(shrunk_rate(home.career_wins, home.career_total, CAREER_PSEUDO))
        - _logit(shrunk_rate(away.career_wins, away.career_total, CAREER_PSEUDO)),
        math.log1p(home.career_total),
        math.log1p(away.career_total),
        shrunk_rate(*_season_counts(home, season), SEASON_PSEUDO),
        shrunk_rate(*_season_counts(away, season), SEASON_PSEUDO),
        zone,
        strength,
        zone * strength,
        float(max(-3, min(3, situation.score_diff))),
        float(min(situation.period, 4)),  # every overtime period plays alike
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
