"""Lambda entry points of race_predictor other than the HTTP API (which is `api.app`, Chalice).

Each handler only wires the event to a service and shapes the response.
"""

from __future__ import annotations

from typing import Any

from pitwall_shared.observability import observability

logger, metrics, tracer = observability("race_predictor")


# --- NHL: player-tracking stream (Kinesis) ------------------------------------------------------
from race_predictor.nhl.stream import faceoff_model, nhl_service, process_tracking_event  # noqa: E402

faceoff_model()  # loaded in the init phase, not on the first batch


@logger.inject_lambda_context
@metrics.log_metrics
def nhl_tracking_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kinesis event source: partial batch failures (ReportBatchItemFailures) in the response."""
    response, report = process_tracking_event(event, nhl_service(), logger)
    metrics.add_metric(name="TrackingRecords", unit="Count", value=len(event.get("Records", [])))
    metrics.add_metric(name="FaceoffPredictionsPublished", unit="Count", value=len(report.published))
    metrics.add_metric(name="TrackingRecordsFailed", unit="Count", value=len(response["batchItemFailures"]))
    logger.info("tracking batch", extra={"records": len(event.get("Records", [])), "setups": report.setups,
                                         "published": len(report.published), "results": report.results,
                                         "duplicates": report.duplicates,
                                         "failed": len(response["batchItemFailures"])})
    return response
# --- end NHL --------------------------------------------------------------------------------------
