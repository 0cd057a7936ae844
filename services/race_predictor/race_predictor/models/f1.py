"""The timing-message contract of `POST /races/{race_id}/messages`, as pydantic models.

One model per message `type`, joined in a discriminated union; `parse_batch` validates a request
body and turns pydantic's errors into `field: problem` lines (`pitwall_shared.inputs`: never
echoing the values sent).
The JSON Schema `events/schemas/TimingMessages.v1.json` describes the same contract.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from pitwall_shared.inputs import BadInput, problems_of

DRIVER_CODE = r"^[A-Z]{3}$"
RACE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_MESSAGES_PER_BATCH = 500
MESSAGE_TYPES = ("race_start", "lap_completed", "pit_in", "pit_out", "track_status", "race_end")


Compound = Literal["SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET"]
TrackStatusValue = Literal["green", "yellow", "safety_car", "virtual_safety_car", "red_flag"]
COMPOUNDS: tuple[str, ...] = ("SOFT", "MEDIUM", "HARD", "INTERMEDIATE", "WET")


# How much a status neutralises the race; the most severe status seen on a lap is that lap's status,
# which keeps the state independent of the order the statuses of one lap arrive in.
STATUS_SEVERITY: dict[str, int] = {
    "green": 0,
    "yellow": 1,
    "virtual_safety_car": 2,
    "safety_car": 3,
    "red_flag": 4,
}


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    seq: int = Field(ge=0, le=2**53, description="increasing per race, set by the feed")


class DriverEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    driver: str = Field(pattern=DRIVER_CODE)
    team: str = Field(min_length=1, max_length=64)


class RaceStart(_Message):
    type: Literal["race_start"]
    season: int = Field(ge=1950, le=2100)
    round: int = Field(ge=1, le=40)
    circuit: str = Field(pattern=r"^[a-z0-9_]{1,40}$", description="Ergast circuitRef")
    total_laps: int = Field(ge=1, le=200)
    drivers: list[DriverEntry] = Field(min_length=1, max_length=40)

    @field_validator("drivers")
    @classmethod
    def _unique_drivers(cls, drivers: list[DriverEntry]) -> list[DriverEntry]:
        codes = [entry.driver for entry in drivers]
        if len(set(codes)) != len(codes):
            raise ValueError("driver codes must be unique")
        return drivers


class LapCompleted(_Message):
    type: Literal["lap_completed"]
    driver: str = Field(pattern=DRIVER_CODE)
    lap: int = Field(ge=1, le=200)
    position: int = Field(ge=1, le=40)
    lap_time_ms: int = Field(gt=0, le=3_600_000)
    race_time_ms: int = Field(gt=0, le=6 * 3_600_000)
    compound: Compound | None = None
    tyre_age_laps: int | None = Field(default=None, ge=0, le=200)


class PitIn(_Message):
    type: Literal["pit_in"]
    driver: str = Field(pattern=DRIVER_CODE)
    lap: int = Field(ge=1, le=200, description="the car enters the pit lane at the end of this lap")


class PitOut(_Message):
    type: Literal["pit_out"]
    driver: str = Field(pattern=DRIVER_CODE)
    lap: int = Field(ge=1, le=200, description="the lap of the pit_in this stop began with")
    compound: Compound | None = None
    pit_duration_ms: int | None = Field(default=None, gt=0, le=3_600_000)


class TrackStatus(_Message):
    type: Literal["track_status"]
    lap: int = Field(ge=0, le=200)
    status: TrackStatusValue


class RaceEnd(_Message):
    type: Literal["race_end"]


TimingMessage = Annotated[
    RaceStart | LapCompleted | PitIn | PitOut | TrackStatus | RaceEnd, Field(discriminator="type")
]


class MessageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[TimingMessage] = Field(min_length=1, max_length=MAX_MESSAGES_PER_BATCH)


_BATCH = TypeAdapter(MessageBatch)
_MESSAGE: TypeAdapter[Any] = TypeAdapter(TimingMessage)


class MessageValidationError(BadInput):
    """The request body breaks the contract; `problems` are `field: problem` lines."""


def parse_batch(body: Any) -> MessageBatch:
    """Validate a request body, raising `MessageValidationError` naming every bad field.

    >>> parse_batch({"messages": [{"seq": 1, "type": "race_end"}]}).messages[0].type
    'race_end'
    """
    if not isinstance(body, dict):
        raise MessageValidationError(["body: must be a JSON object with a `messages` list"])
    try:
        return _BATCH.validate_python(body)
    except ValidationError as error:
        raise MessageValidationError(problems_of(error, skip_tags=MESSAGE_TYPES)) from None


def parse_message(raw: Any) -> Any:
    """Validate one message (used when state is rebuilt from stored raw messages)."""
    return _MESSAGE.validate_python(raw)


def validate_race_id(race_id: str) -> str:
    if not RACE_ID.match(race_id):
        raise MessageValidationError(["race_id: must be 1-64 letters, digits, '_' or '-'"])
    return race_id
