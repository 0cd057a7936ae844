"""Pydantic models of what crosses the cost calculator's boundary: HTTP request bodies (with their
limits), answers, the `data` of the usage events it consumes and of the event it publishes (their
envelope is `pitwall_shared.events.Envelope`). The state it keeps (`RightsizingState`) is the logic's
(`logic/usage.py`).

Money and fractional quantities are `Decimal`; they leave as plain unrounded decimal strings.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictInt,
    model_validator,
)

from pitwall_shared.inputs import FieldProblem  # a rule across fields names the one to fix
from pitwall_shared.pricing import decimal_string


def _reject_non_numbers(value: Any) -> Any:
    # JSON strings and booleans are not quantities, even when pydantic's lax mode could coerce them.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a number")
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 15:
        # Checked before any arithmetic: 1e999999 is a finite Decimal but no sensible quantity.
        raise ValueError("is absurdly large")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


# A JSON number read exactly (bodies are parsed with parse_float=Decimal). Six decimal places are
# plenty for rates and hours and keep absurd exponents such as 1e-999999 out of the arithmetic.
Quantity = Annotated[
    Decimal,
    BeforeValidator(_reject_non_numbers),
    AfterValidator(_finite),
    Field(decimal_places=6, allow_inf_nan=False),
]
Count = StrictInt
DecimalString = Annotated[Decimal, PlainSerializer(decimal_string, return_type=str)]

# Limits beyond which an input is taken for a mistake rather than a plan ("absurd sizes"). A
# million characters per second is 10,000 inference units, a thousand endpoints at the default quota.
MAX_CHARACTERS_PER_SECOND = Decimal(1_000_000)
MAX_CHARACTERS_PER_MESSAGE = 1_000_000
MAX_MESSAGES_PER_MINUTE = Decimal(60_000_000)
MAX_SECONDS = Decimal(366 * 86_400)
MAX_DAYS = 366
MAX_TRAINING_HOURS = Decimal(10_000)
MAX_MANAGEMENT_MONTHS = Decimal(1_200)
MAX_RECORDS = 10**12
# Comprehend's PII APIs take documents up to 100 KB of UTF-8 (Amazon Comprehend quotas); counted
# here as characters, exact for ASCII text.
MAX_PII_REQUEST_CHARACTERS = 100_000
MAX_FIELDS_PER_RECORD = 10_000
HOURS_PER_DAY = 24
MINUTES_PER_DAY = 1_440

# Comprehend endpoint names: letters, digits and inner hyphens, at most 40 characters
# (CreateEndpoint API reference, EndpointName).
ENDPOINT_NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$"
ENDPOINT_NAME_MAX_LENGTH = 40


def _endpoint_name(name: str) -> str:
    if len(name) > ENDPOINT_NAME_MAX_LENGTH or re.fullmatch(ENDPOINT_NAME_PATTERN, name) is None:
        raise ValueError(
            f"must be a Comprehend endpoint name: letters, digits and inner hyphens, "
            f"at most {ENDPOINT_NAME_MAX_LENGTH} characters"
        )
    return name


EndpointName = Annotated[str, AfterValidator(_endpoint_name)]


class RequestBody(BaseModel):
    """Base of HTTP bodies: unknown fields are refused, so a typo is an error, not a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- POST /estimates/endpoint


class EndpointEstimateRequest(RequestBody):
    # 0 is an idle endpoint: still billed at its 1-IU minimum, answered with a warning (issue 16.9).
    characters_per_second: Annotated[Quantity, Field(ge=0, le=MAX_CHARACTERS_PER_SECOND)] | None = None
    characters_per_message: Annotated[Count, Field(gt=0, le=MAX_CHARACTERS_PER_MESSAGE)] | None = None
    messages_per_minute: Annotated[Quantity, Field(gt=0, le=MAX_MESSAGES_PER_MINUTE)] | None = None
    hours_per_day: Annotated[Quantity, Field(gt=0, le=HOURS_PER_DAY)] | None = None
    days: Annotated[Count, Field(ge=1, le=MAX_DAYS)] | None = None
    seconds: Annotated[Quantity, Field(gt=0, le=MAX_SECONDS)] | None = None
    training_hours: Annotated[Quantity, Field(ge=0, le=MAX_TRAINING_HOURS)] = Decimal(1)
    management_months: Annotated[Quantity, Field(ge=0, le=MAX_MANAGEMENT_MONTHS)] = Decimal(1)

    @model_validator(mode="after")
    def _one_throughput_and_one_duration(self) -> EndpointEstimateRequest:
        per_message = (self.characters_per_message, self.messages_per_minute)
        if self.characters_per_second is not None:
            if any(value is not None for value in per_message):
                raise FieldProblem(
                    "characters_per_second",
                    "give either characters_per_second or characters_per_message with messages_per_minute, not both",
                )
        elif self.characters_per_message is None and self.messages_per_minute is None:
            raise FieldProblem(
                "characters_per_second",
                "required (or characters_per_message with messages_per_minute)",
            )
        elif self.characters_per_message is None:
            raise FieldProblem("characters_per_message", "required with messages_per_minute")
        elif self.messages_per_minute is None:
            raise FieldProblem("messages_per_minute", "required with characters_per_message")
        if self.hours_per_day is not None and self.seconds is not None:
            raise FieldProblem("seconds", "give either hours_per_day or seconds, not both")
        if self.hours_per_day is None and self.seconds is None:
            raise FieldProblem("hours_per_day", "required (or seconds)")
        if self.days is not None and self.hours_per_day is None:
            raise FieldProblem("days", "only applies with hours_per_day")
        if self.throughput() > MAX_CHARACTERS_PER_SECOND:
            raise FieldProblem(
                "messages_per_minute",
                f"characters_per_message x messages_per_minute / 60 exceeds {MAX_CHARACTERS_PER_SECOND} characters per second",
            )
        return self

    def throughput(self) -> Decimal:
        """Characters per second the endpoint must serve."""
        if self.characters_per_second is not None:
            return self.characters_per_second
        assert self.characters_per_message is not None and self.messages_per_minute is not None
        return self.characters_per_message * self.messages_per_minute / 60


class EndpointEstimate(BaseModel):
    characters_per_second: DecimalString
    inference_units: int
    endpoints_at_default_quota: int
    billed_seconds: int
    inference_cost: DecimalString
    training_cost: DecimalString
    management_cost: DecimalString
    total_cost: DecimalString
    warnings: list[str]
    price_version: str


# --- POST /estimates/pii


class PiiEstimateRequest(RequestBody):
    records: Annotated[Count, Field(ge=1, le=MAX_RECORDS)]
    characters_per_field: Annotated[Count, Field(ge=1, le=MAX_PII_REQUEST_CHARACTERS)]
    fields_per_record: Annotated[Count, Field(ge=1, le=MAX_FIELDS_PER_RECORD)]
    records_with_pii: Annotated[Count, Field(ge=0, le=MAX_RECORDS)]
    fields_per_request: Annotated[Count, Field(ge=1, le=MAX_FIELDS_PER_RECORD)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> PiiEstimateRequest:
        if self.records_with_pii > self.records:
            raise FieldProblem("records_with_pii", f"must not exceed records ({self.records})")
        grouped = min(self.fields_per_request, self.fields_per_record)
        if grouped * self.characters_per_field > MAX_PII_REQUEST_CHARACTERS:
            raise FieldProblem(
                "fields_per_request",
                f"{grouped} fields of {self.characters_per_field} characters exceed the "
                f"{MAX_PII_REQUEST_CHARACTERS}-character request limit of the PII APIs",
            )
        return self


class PiiEstimate(BaseModel):
    requests_per_record: int
    units_per_record: int
    contains_requests: int
    contains_units: int
    contains_cost: DecimalString
    detect_requests: int
    detect_units: int
    detect_cost: DecimalString
    total_cost: DecimalString
    one_field_per_request_cost: DecimalString
    saving_from_grouping_fields: DecimalString
    warnings: list[str]
    price_version: str


# --- POST /estimates/traffic


class TrafficProfileRequest(RequestBody):
    """A day's traffic: 24 hourly or 1,440 per-minute values of characters per second."""

    characters_per_second: list[Annotated[Quantity, Field(ge=0, le=MAX_CHARACTERS_PER_SECOND)]]

    @model_validator(mode="after")
    def _a_day(self) -> TrafficProfileRequest:
        if len(self.characters_per_second) not in (HOURS_PER_DAY, MINUTES_PER_DAY):
            raise FieldProblem(
                "characters_per_second",
                f"must hold {HOURS_PER_DAY} hourly or {MINUTES_PER_DAY} per-minute values, "
                f"got {len(self.characters_per_second)}",
            )
        return self


class ScheduleStep(BaseModel):
    start_hour: int
    end_hour: int
    inference_units: int
    billed_seconds: int
    cost: DecimalString


class EndpointPlan(BaseModel):
    inference_units_peak: int
    changes: int
    billed_inference_unit_seconds: int
    cost: DecimalString
    schedule: list[ScheduleStep]


class TrafficPlan(BaseModel):
    resolution: Literal["hour", "minute"]
    peak_characters_per_second: DecimalString
    fixed: EndpointPlan
    hourly_schedule: EndpointPlan
    cheaper_plan: Literal["fixed", "hourly_schedule"]
    daily_saving: DecimalString
    schedule: list[ScheduleStep]
    warnings: list[str]
    price_version: str


# --- GET /endpoints/{name}/recommendation


class RecommendationQuery(RequestBody):
    name: EndpointName
    window_minutes: Annotated[int, Field(ge=1, le=MINUTES_PER_DAY)] = 60


class Recommendation(BaseModel):
    endpoint_name: str
    window_start: datetime
    window_end: datetime
    window_minutes: int
    observed_minutes: int
    peak_characters_per_second: DecimalString
    p95_characters_per_second: DecimalString
    inference_units_for_peak: int
    inference_units_for_p95: int
    recommended_inference_units: int
    configured_inference_units: int | None
    status: Literal["right_sized", "over_provisioned", "under_provisioned", "unknown_configuration"]
    projected_daily_saving: DecimalString | None
    projected_daily_shortfall: DecimalString | None
    warnings: list[str]
    price_version: str


# --- events consumed (tolerant readers: unknown fields are ignored) and published; the envelope
# around their `data` and the SQS-delivered bus event are the shared ones (`pitwall_shared.events`)


class EventModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PiiApiUsage(EventModel):
    api: Literal["ContainsPiiEntities", "DetectPiiEntities"]
    requests: Annotated[StrictInt, Field(ge=0)]
    characters: Annotated[StrictInt, Field(ge=0)]
    billed_units: Annotated[StrictInt, Field(ge=0)]


class ComprehendUsageData(EventModel):
    usage: Annotated[list[PiiApiUsage], Field(min_length=1)]
    endpoint_name: EndpointName | None = None


class EndpointTrafficData(EventModel):
    endpoint_name: EndpointName
    observed_at: datetime
    characters: Annotated[StrictInt, Field(ge=0)]
    requests: Annotated[StrictInt, Field(ge=0)] = 0
    configured_inference_units: Annotated[StrictInt, Field(ge=1)] | None = None


class RightsizingRecommendedData(BaseModel):
    endpoint_name: str
    configured_inference_units: int
    recommended_inference_units: int
    direction: Literal["scale_down", "scale_up"]
    peak_characters_per_second: DecimalString
    p95_characters_per_second: DecimalString
    window_minutes: int
    projected_daily_saving: DecimalString
    projected_daily_shortfall: DecimalString
    sequence: int
    price_version: str
