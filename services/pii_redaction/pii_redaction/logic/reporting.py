"""The batch's event payloads (`PiiRedactionReport`, `ComprehendUsage`) and metric figures, built from
a `BatchOutcome`: counts only, never contents."""

from __future__ import annotations

from typing import Any, NamedTuple

from pii_redaction.logic.batch import BatchOutcome
from pii_redaction.models import ComprehendUsage, PiiRedactionReport

APIS = ("ContainsPiiEntities", "DetectPiiEntities")
# At most this many latency samples per batch go into the metric blob (EMF takes 100 values).
LATENCY_SAMPLES = 100


class Metric(NamedTuple):
    name: str
    unit: str  # a CloudWatch unit name: "Count", "Milliseconds"
    value: float


def metric_figures(outcome: BatchOutcome, throttled: int) -> list[Metric]:
    """The batch's metrics: records by result, entities by type, Comprehend units, failures, latencies."""
    figures = [Metric(f"Records{result}", "Count", count) for result, count in outcome.results().items()]
    figures.append(Metric("RecordsMaskedUninspected", "Count", sum(1 for r in outcome.records if r.masked_uninspected)))
    figures += [Metric(f"Entities_{entity_type}", "Count", count) for entity_type, count in outcome.entities().items()]
    for api, line in outcome.usage.items():
        figures.append(Metric(f"ComprehendUnits_{api}", "Count", line.billed_units))
        figures.append(Metric(f"ComprehendFailedCalls_{api}", "Count", line.failed_requests))
        figures += [Metric("ComprehendLatency", "Milliseconds", latency) for latency in line.latencies_ms[:LATENCY_SAMPLES]]
    figures.append(Metric("ComprehendThrottled", "Count", throttled))
    figures.append(Metric("PiiReviewCandidates", "Count", outcome.review_candidates))
    return figures


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
