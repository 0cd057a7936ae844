"""Pydantic models of what the function publishes: the `data` of `PiiRedactionReport` and of
`ComprehendUsage` (their JSON Schemas are in events/schemas/). Counts only, never contents."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Count = Field(ge=0)
# Why a record was not redacted normally (screening.UNREADABLE, screening.REFUSED, and "uninspected").
FailureReason = Literal["no-data", "bad-base64", "too-large", "not-utf8", "not-json", "not-object",
                        "duplicate-key", "not-a-number", "number-out-of-range", "inexact-number",
                        "lone-surrogate", "too-deep", "uninspected"]


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
