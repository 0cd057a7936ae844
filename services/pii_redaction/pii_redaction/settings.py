"""The redaction settings: environment variables parsed once at cold start into a typed, frozen model.

Every value is checked here, so a bad deployment fails on its first invocation with a message that
names the variable (never with a half-redacted batch).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode

from pii_redaction.logic.fields import FieldPath, parse_field_paths
from pii_redaction.logic.quota import invocation_share
from pitwall_shared.settings import ServiceSettings

# Comprehend's PII entity types (DetectPiiEntities API reference, PiiEntity.Type).
ENTITY_TYPES = frozenset({
    "BANK_ACCOUNT_NUMBER", "BANK_ROUTING", "CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "CREDIT_DEBIT_EXPIRY",
    "PIN", "EMAIL", "ADDRESS", "NAME", "PHONE", "SSN", "DATE_TIME", "PASSPORT_NUMBER", "DRIVER_ID", "URL",
    "AGE", "USERNAME", "PASSWORD", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "IP_ADDRESS", "MAC_ADDRESS",
    "LICENSE_PLATE", "VEHICLE_IDENTIFICATION_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "IN_PERMANENT_ACCOUNT_NUMBER", "IN_NREGA",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "CA_HEALTH_NUMBER", "IN_AADHAAR", "IN_VOTER_NUMBER",
})

MaskStyle = Literal["mask", "type"]
FailurePolicy = Literal["mask-all", "drop", "fail"]


def _split(value: object) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(v) for v in value] if isinstance(value, (list, tuple, set, frozenset)) else [str(value)]


class RedactionSettings(ServiceSettings):
    """`PII_FIELDS="Tweet1, Tweet2"` etc.; see template.yaml for the deployed values."""

    pii_fields: Annotated[tuple[FieldPath, ...], NoDecode] = Field(min_length=1)
    pii_entity_types: Annotated[frozenset[str], NoDecode] = frozenset({"ALL"})
    # Detected entities scoring below this stay in the clear. 0: every entity Comprehend returns is
    # masked (what the AWS sample this function is modelled on does); raising it trades recall for precision.
    pii_min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    pii_mask_style: MaskStyle = "mask"
    pii_mask_character: str = Field(default="*", min_length=1, max_length=1)
    pii_language: Literal["en", "es"] = "en"
    pii_failure_policy: FailurePolicy = "mask-all"
    pii_newline: bool = True
    # Records nested deeper than this are refused per the failure policy (the json module recurses
    # once per level: 500 keeps it well under Python's 1,000-frame limit).
    pii_max_depth: int = Field(default=128, ge=1, le=500)
    # Comprehend calls of one batch: at most this many in flight.
    pii_max_concurrency: int = Field(default=8, ge=1, le=64)
    # The account's Comprehend quota (requests/s, the lower of DetectPiiEntities' and
    # ContainsPiiEntities') and this function's reserved concurrency (template.yaml derives it from
    # the same quota): each invocation starts at most logic/quota.invocation_share of them per second.
    pii_comprehend_tps: float = Field(default=50.0, gt=0)
    pii_reserved_concurrency: int = Field(default=1, ge=1, le=1000)
    # An explicit per-invocation ceiling instead of the derived share (tests, benchmarks).
    pii_max_rps: float | None = Field(default=None, gt=0)
    pii_max_attempts: int = Field(default=6, ge=1, le=20)
    # A Comprehend call that has not answered in this long is abandoned (and retried).
    pii_read_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Values are packed into ContainsPiiEntities requests of about this many characters.
    pii_contains_pack_chars: int = Field(default=600, ge=1, le=100_000)
    # ...and DetectPiiEntities requests (flagged values only) of about this many.
    pii_detect_pack_chars: int = Field(default=5_000, ge=1, le=100_000)
    # Stop starting calls when less than this is left of the invocation.
    pii_time_reserve_ms: int = Field(default=3_000, ge=0)
    # Entities scoring in [lower, upper) are masked all the same and also sent to human review: a
    # task object in PII_REVIEW_BUCKET (pii-review/) and a PiiReviewCandidate event. Empty: off.
    pii_review_band: Annotated[tuple[float, float] | None, NoDecode] = None
    pii_review_bucket: str | None = None
    event_bus_name: str | None = None

    @field_validator("pii_fields", mode="before")
    @classmethod
    def _fields(cls, value: object) -> tuple[FieldPath, ...]:
        return parse_field_paths(",".join(_split(value)))

    @field_validator("pii_review_band", mode="before")
    @classmethod
    def _band(cls, value: object) -> tuple[float, float] | None:
        parts = _split(value) if value is not None else []
        if not parts:
            return None
        try:
            lower, upper = (float(part) for part in parts)
        except ValueError:
            raise ValueError("give two scores, lower,upper (for example 0.5,0.9), or leave it empty") from None
        if not 0 <= lower < upper <= 1:
            raise ValueError("need 0 <= lower < upper <= 1")
        return lower, upper

    @model_validator(mode="after")
    def _review_needs(self) -> RedactionSettings:
        if self.pii_review_band is None:
            return self
        if not self.pii_review_bucket:
            raise ValueError("PII_REVIEW_BAND is set: PII_REVIEW_BUCKET must name the raw-PII bucket")
        if not self.event_bus_name:
            raise ValueError("PII_REVIEW_BAND is set: EVENT_BUS_NAME must name the bus")
        if self.pii_review_band[0] < self.pii_min_score:
            # Every reviewed entity must also be masked (fail closed): none below the threshold.
            raise ValueError("PII_REVIEW_BAND's lower score is below PII_MIN_SCORE")
        return self

    @field_validator("pii_entity_types", mode="before")
    @classmethod
    def _types(cls, value: object) -> frozenset[str]:
        names = {name.upper() for name in _split(value)}
        if not names:
            raise ValueError("name at least one entity type, or ALL")
        unknown = names - ENTITY_TYPES - {"ALL"}
        if unknown:
            raise ValueError(f"unknown entity type(s) {sorted(unknown)}; Comprehend's are {sorted(ENTITY_TYPES)}")
        return frozenset(names)

    @field_validator("pii_mask_style", "pii_failure_policy", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def requests_per_second(self) -> float:
        """What one invocation may start per second: PII_MAX_RPS, or its share of the account's quota."""
        if self.pii_max_rps is not None:
            return self.pii_max_rps
        return invocation_share(self.pii_comprehend_tps, self.pii_reserved_concurrency)

    def wants(self, entity_type: str) -> bool:
        return "ALL" in self.pii_entity_types or entity_type in self.pii_entity_types
