"""What crosses the NHL boundary: the tracking stream's records (`lineup`, `position`, `game`)
and the bodies of the face-off HTTP routes (`POST /faceoffs/predict`, `POST /faceoffs/results`).

Parsing one Kinesis record's JSON gives a typed record; a malformed record raises
`MalformedRecord` whose message names the offending field and never echoes the record's values.
The JSON Schemas `events/schemas/TrackingRecord*.v1.json` describe the same contract. A bad HTTP
body raises `RequestError` listing every offending field by name (values are never echoed).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from pitwall_shared.inputs import BadInput, problems_of, read_json
from race_predictor.logic.nhl.features import FaceoffSituation

# Rink 200 x 85 ft with centre ice at the origin; a little slack for players tracked over the boards.
X_LIMIT = 105.0
Y_LIMIT = 47.0

GameEventName = Literal["period_start", "whistle", "clock_start", "faceoff", "goal", "penalty",
                        "penalty_end", "period_end", "game_end"]


def _game_id_text(value: Any) -> Any:
    """The NHL's own game ids are integers (2023020001): take one as its decimal text (issue 18.7)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return value


# A game id: 1-64 letters, digits or _.:-, or the NHL's non-negative integer id (kept as its text).
GameId = Annotated[str, BeforeValidator(_game_id_text), Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


class MalformedRecord(BadInput):
    """A tracking record that does not follow the contract; the message names the field(s)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    game_id: GameId


class LineupPlayer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    player_id: int = Field(gt=0)
    side: Literal["home", "away"]
    position: Literal["C", "L", "R", "D", "G"]
    shoots: Literal["L", "R"]
    height_in: int | None = Field(default=None, ge=48, le=96)
    weight_lb: int | None = Field(default=None, ge=100, le=350)
    first_season: int | None = Field(default=None, ge=19001901, le=21002101)
    # A public athlete's name on a public roster (not PII here); only carried to FaceoffPredicted.
    name: str | None = Field(default=None, min_length=1, max_length=64)


class LineupRecord(_Record):
    type: Literal["lineup"]
    season: int = Field(ge=19001901, le=21002101)
    home_team: str = Field(min_length=2, max_length=8)
    away_team: str = Field(min_length=2, max_length=8)
    players: list[LineupPlayer] = Field(min_length=2, max_length=80)

    @model_validator(mode="after")
    def _unique_players(self) -> LineupRecord:
        ids = [player.player_id for player in self.players]
        if len(ids) != len(set(ids)):
            raise ValueError("players: a player_id appears twice")
        return self


class PositionRecord(_Record):
    type: Literal["position"]
    ts_ms: int = Field(ge=0)
    player_id: int = Field(gt=0)
    x_ft: float = Field(ge=-X_LIMIT, le=X_LIMIT, allow_inf_nan=False)
    y_ft: float = Field(ge=-Y_LIMIT, le=Y_LIMIT, allow_inf_nan=False)
    vx_fps: float | None = Field(default=None, ge=-60, le=60, allow_inf_nan=False)
    vy_fps: float | None = Field(default=None, ge=-60, le=60, allow_inf_nan=False)


class GameRecord(_Record):
    type: Literal["game"]
    ts_ms: int = Field(ge=0)
    event: GameEventName
    period: int | None = Field(default=None, ge=1, le=10)
    winner_id: int | None = Field(default=None, gt=0)
    loser_id: int | None = Field(default=None, gt=0)
    home_score: int | None = Field(default=None, ge=0, le=50)
    away_score: int | None = Field(default=None, ge=0, le=50)
    home_skaters: int | None = Field(default=None, ge=3, le=6)
    away_skaters: int | None = Field(default=None, ge=3, le=6)

    @model_validator(mode="after")
    def _fields_of_event(self) -> GameRecord:
        required = {
            "faceoff": ("winner_id", "loser_id"),
            "goal": ("home_score", "away_score"),
            "penalty": ("home_skaters", "away_skaters"),
            "penalty_end": ("home_skaters", "away_skaters"),
        }.get(self.event, ())
        missing = [name for name in required if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} required when event is {self.event}")
        if self.event == "faceoff" and self.winner_id == self.loser_id:
            raise ValueError("loser_id must differ from winner_id")
        return self


TrackingRecord = Annotated[LineupRecord | PositionRecord | GameRecord, Field(discriminator="type")]
_ADAPTER: TypeAdapter[LineupRecord | PositionRecord | GameRecord] = TypeAdapter(TrackingRecord)


def parse_record(raw: bytes | str | dict) -> LineupRecord | PositionRecord | GameRecord:
    """Parse one tracking record (JSON bytes, text or an already decoded object).

    >>> parse_record('{"type": "game", "game_id": "g1", "ts_ms": 0, "event": "whistle"}').event
    'whistle'
    """
    try:
        payload = read_json(raw, what="record") if isinstance(raw, bytes | str) else raw
    except BadInput as error:
        raise MalformedRecord(error.problems) from None
    if not isinstance(payload, dict):
        raise MalformedRecord(["record: must be a JSON object"])
    try:
        return _ADAPTER.validate_python(payload)
    except ValidationError as exc:
        raise MalformedRecord(problems_of(exc, dotted=True, root="record")) from None


# --- HTTP request bodies --------------------------------------------------------------------------
GAME_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class RequestError(BadInput):
    """A face-off request body that breaks the contract; `problems` are `field: problem` lines."""


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
    game_id: GameId | None = None
    # The end-zone dot's side from the home taker's view (his left or right facing the away goal);
    # omitted at centre and neutral-zone dots. Lets the model use each taker's strong side (issue 18.5).
    home_side: Literal["L", "R"] | None = None

    @model_validator(mode="after")
    def _two_players(self) -> PredictRequest:
        if self.home_player_id == self.away_player_id:
            raise ValueError("away_player_id must differ from home_player_id")
        return self

    def situation(self) -> FaceoffSituation:
        return FaceoffSituation(zone=self.zone, period=self.period, seconds_elapsed=self.seconds_elapsed,
                                score_diff=self.score_diff, home_skaters=self.home_skaters,
                                away_skaters=self.away_skaters, season=self.season,
                                home_side=self.home_side if self.zone != "N" else None)


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
        raise RequestError(problems_of(error, dotted=True)) from None


def validate_game_id(game_id: str) -> None:
    if not GAME_ID.match(game_id):
        raise RequestError(["game_id: 1-64 letters, digits or _.:-"])
