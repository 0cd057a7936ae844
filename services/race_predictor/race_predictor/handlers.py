"""Lambda entry points of race_predictor other than the HTTP API (which is `api.app`, Chalice):
the NHL tracking stream consumer and the outbox sweeper (a schedule).

Each handler only wires the event to a service built by `factory` and shapes the response.
`process_tracking_event` is the Kinesis batch glue: a malformed record fails alone, reported by
sequence number with a message naming the field, and the service's per-game failures join the
partial batch response, so that Lambda retries from the first failed record and never stalls the shard.
"""

from __future__ import annotations

import binascii
import logging
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from pitwall_shared.inputs import Problem
from pitwall_shared.observability import observability
from pitwall_shared.refusals import refusing_bad_input
from race_predictor.factory import faceoff_model, nhl_service, outbox_sweeper
from race_predictor.logic.nhl.service import BatchReport, NhlService, TrackingRecord
from race_predictor.models.nhl import MalformedRecord, parse_record

logger, metrics, tracer = observability("race_predictor")

faceoff_model()  # loaded in the init phase, not on the first batch
_QUIET = logging.getLogger("race_predictor.tracking")  # when a caller (a test, a bench) passes no logger


class OutboxStuck(RuntimeError):
    """Some outboxes could not be published this sweep (the Errors alarm's signal); the next sweep retries."""


# --- outbox sweeper: EventBridge schedule (issue 16 item 4) ----------------------------------------
@logger.inject_lambda_context
@metrics.log_metrics
def outbox_sweeper_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Publish the outbox entries no request will (see logic/common/sweeper.py). Fails the
    invocation when an item's publish failed, so the function's Errors alarm says events wait."""
    report = outbox_sweeper().sweep()
    metrics.add_metric(name="OutboxItemsVisited", unit="Count", value=report.visited)
    metrics.add_metric(name="OutboxEventsSwept", unit="Count", value=len(report.published))
    metrics.add_metric(name="OutboxItemsFailed", unit="Count", value=len(report.failed))
    summary = {"visited": report.visited, "published": len(report.published), "failed": len(report.failed),
               "cleared": report.cleared, "waiting": report.waiting}
    logger.info("outbox sweep", extra=summary)
    if report.failed:
        raise OutboxStuck(f"{len(report.failed)} item(s) still have events that could not be published")
    return summary


# --- NHL: player-tracking stream (Kinesis) ------------------------------------------------------
@logger.inject_lambda_context
@metrics.log_metrics
def nhl_tracking_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Kinesis event source: partial batch failures (ReportBatchItemFailures) in the response."""
    response, report = process_tracking_event(event, nhl_service(), logger, metrics)
    metrics.add_metric(name="TrackingRecords", unit="Count", value=len(event.get("Records", [])))
    metrics.add_metric(name="FaceoffPredictionsPublished", unit="Count", value=len(report.published))
    metrics.add_metric(name="TrackingRecordsFailed", unit="Count", value=len(response["batchItemFailures"]))
    logger.info("tracking batch", extra={"records": len(event.get("Records", [])), "setups": report.setups,
                                         "published": len(report.published), "results": report.results,
                                         "duplicates": report.duplicates,
                                         "failed": len(response["batchItemFailures"])})
    return response


def process_tracking_event(event: dict[str, Any], service: NhlService, logger: Any = None, metrics: Any = None
                           ) -> tuple[dict[str, Any], BatchReport]:
    """Process a Kinesis event; return the partial batch response and what the batch did."""
    parsed: list[tuple[str, TrackingRecord]] = []

    def decode(record: KinesisStreamRecord) -> None:
        try:
            data = record.kinesis.data_as_bytes()
        except (binascii.Error, ValueError, TypeError):
            raise MalformedRecord([Problem("record", "data is not base64", "not_base64")]) from None
        parsed.append((record.kinesis.sequence_number, parse_record(data)))

    # A malformed record fails alone, logged "record refused" with its reason kind (the shared refusal).
    handler = refusing_bad_input(decode, logger=logger or _QUIET, metrics=metrics, what="record", dotted=True,
                                 record_id=lambda record: record.kinesis.sequence_number, id_name="sequence_number")
    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=handler):
        processor.process()
    failures = list(processor.response()["batchItemFailures"])
    report = service.process_batch(parsed) if parsed else BatchReport()
    failures += [{"itemIdentifier": sequence} for sequence in report.failed_sequences]
    return {"batchItemFailures": failures}, report
