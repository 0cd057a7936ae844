"""What crosses the function's boundary: the Firehose record in (`InputRecord`), its answer out
(`RecordOutcome`: Ok / Dropped / ProcessingFailed and why), and the pydantic models of the events it
publishes, the `data` of `PiiRedactionReport` and of `ComprehendUsage` (JSON Schemas in
events/schemas/). Counts only, never contents."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Count = Field(ge=0)
Result = Literal["Ok", "Dropped", "ProcessingFailed"]
# Why a record was not redacted normally (logic/decoding.py: UNREADABLE, REFUSED; "uninspected", and
# "review-unsaved": the review task of an uncertain entity could not be saved, logic/stages.py).
FailureReason = Literal["no-data", "bad-base64", "too-large", "not-utf8", "not-json", "not-object",
                        "duplicate-key", "not-a-number", "number-out-of-range", "inexact-number",
                        "lone-surrogate", "too-deep", "uninspected", "review-unsaved"]


# --- Firehose records in and out -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InputRecord:
    """One Firehose record; `data` is None when the record had no `data` string (missing, null, other)."""

    record_id: str
    data: str | None


@dataclass
class RecordOutcome:
    """The answer for one record (`data` base64) and what the report counts of it."""

    record_id: str
    result: Result
    data: str
    reason: str | None = None
    reason_kind: str | None = None
    masked_uninspected: bool = False
    entities: Counter[str] = field(default_factory=Counter)


# --- events out ----------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordCounts(_Strict):
    total: int = Count
    ok: int = Count
    dropped: int = Count
    processing_failed: int = Count
    masked_uninspected: int = Count


class PiiRedactionReport(_Strict):
    delivery_stream: str = Field(min_length=1, max_length=64)
    invocation_id: str = Field(min_length=1, max_length=128)
    records: RecordCounts
    entities: dict[str, int]
    fields_inspected: int = Count
    failure_reasons: dict[FailureReason, int]


class ApiUsage(_Strict):
    api: Literal["ContainsPiiEntities", "DetectPiiEntities"]
    requests: int = Count
    characters: int = Count
    billed_units: int = Count


class ComprehendUsage(_Strict):
    usage: list[ApiUsage] = Field(min_length=1)
