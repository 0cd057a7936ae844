"""The batch's event payloads (`PiiRedactionReport`, `ComprehendUsage`) and metric figures, built from
a `BatchOutcome`: counts only, never contents."""

from __future__ import annotations

from typing import Any

from pii_redaction.models import ComprehendUsage, PiiRedactionReport
from pii_redaction.screening import BatchOutcome

APIS = ("ContainsPiiEntities", "DetectPiiEntities")


def report_data(outcome: BatchOutcome, *, delivery_stream: str, invocation_id: str) -> dict[str, Any]:
    """`data` of PiiRedactionReport (events/schemas/PiiRedactionReport.v1.json)."""
    results = outcome.results()
    return PiiRedactionReport.model_validate({
        "delivery_stream": delivery_stream,
        "invocation_id": invocation_id,
        "records": {
            "total": len(outcome.records),
            "ok": results.get("Ok", 0),
            "dropped": results.get("Dropped", 0),
            "processing_failed": results.get("ProcessingFailed", 0),
            "masked_uninspected": sum(1 for r in outcome.records if r.masked_uninspected),
        },
        "entities": dict(sorted(outcome.entities().items())),
        "fields_inspected": outcome.fields_inspected,
        "failure_reasons": dict(sorted(outcome.failure_reasons().items())),
    }).model_dump()


def usage_data(outcome: BatchOutcome) -> dict[str, Any]:
    """`data` of ComprehendUsage (events/schemas/ComprehendUsage.v1.json, consumed by cost_calculator)."""
    lines = []
    for api in APIS:
        line = outcome.usage.get(api)
        lines.append({
            "api": api,
            "requests": line.requests if line else 0,
            "characters": line.characters if line else 0,
            "billed_units": line.billed_units if line else 0,
        })
    return ComprehendUsage.model_validate({"usage": lines}).model_dump()
