"""Bodies of the face-off HTTP routes (`POST /faceoffs/predict`, `POST /faceoffs/results`).

Owns validating a request into a typed model; a bad body raises `RequestError` listing every
offending field by name (values are never echoed).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from race_predictor.nhl.features import FaceoffSituation

GAME_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class RequestError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home_player_id: int = Field(gt=0)
    away_player_id: int = Field(gt=0)
    zone: Literal["O", "D", "N"]
    period: int = Field(ge=1, le=10)
    seconds_elapsed: float = Field(ge=0, le=1200, allow_inf_nan=False)
    home_skaters: int = Field(ge=3, le=6)
    away_skaters: int = Field(ge=3, le=6)
    score_diff: int = Field(default=0, ge=-20, le=20)
    season: int = Field(default=0, ge=0, le=21002101)
    game_id: str | None = Field(default=None, pattern=GAME_ID.pattern)

    @model_validator(mode="after")
    def _two_players(self) -> PredictRequest:
        if self.home_player_id == self.away_player_id:
            raise ValueError("away_player_id must differ from home_player_id")
        return self

    def situation(self) -> FaceoffSituation:
        return FaceoffSituation(zone=self.zone, period=self.period, seconds_elapsed=self.seconds_elapsed,
                                score_diff=self.score_diff, home_skaters=self.home_skaters,
                                away_skaters=self.away_skaters, season=self.season)


class ResultRequest(PredictRequest):
    winner_id: int = Field(gt=0)
    result_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:#-]{1,128}$")

    @model_validator(mode="after")
    def _winner_took_it(self) -> ResultRequest:
        if self.winner_id not in (self.home_player_id, self.away_player_id):
            raise ValueError("winner_id must be home_player_id or away_player_id")
        return self


def parse_request(model: type[PredictRequest], body: Any) -> PredictRequest:
    if not isinstance(body, dict):
        raise RequestError(["body: must be a JSON object"])
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise RequestError([f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                            for e in error.errors(include_url=False, include_input=False)]) from None


def validate_game_id(game_id: str) -> None:
    if not GAME_ID.match(game_id):
        raise RequestError(["game_id: 1-64 letters, digits or _.:-"])
