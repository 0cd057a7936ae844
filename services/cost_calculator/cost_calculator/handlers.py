"""Lambda entry point of the usage consumer: SQS batches of EventBridge events (ComprehendUsage,
EndpointTraffic) processed with Powertools' BatchProcessor, so a malformed or failing record is
reported alone (`batchItemFailures`) and retried or dead-lettered without its neighbours.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from cost_calculator import factory
from cost_calculator.logic.service import handle_usage_event
from cost_calculator.logic.usage import UnknownDetailType
from pitwall_shared.events import BusEvent
from pitwall_shared.inputs import BadInput, Problem, read_json, validate
from pitwall_shared.observability import observability
from pitwall_shared.refusals import refusing_bad_input, scrubbed

logger, metrics, tracer = observability("cost_calculator")
# Settings read and objects built in the init phase: a bad variable fails the cold start, naming it.
factory.consumer_settings()
factory.store()
factory.publisher()
factory.prices()
# Report every failed record, even when all of a batch fail, rather than failing the invocation:
# the outcome for SQS is the same (redelivery, then the DLQ) and the response stays one shape.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class MalformedUsageEvent(BadInput):
    """A record that is not a valid usage event; names the fields, never their values."""


def _parse(body: str) -> BusEvent:
    try:
        return validate(BusEvent, read_json(body, what="message body"), dotted=True, root="message body")
    except BadInput as error:
        raise MalformedUsageEvent(error.problems) from None


def _apply(record: SQSRecord) -> None:
    event = _parse(record.body)
    try:
        outcome = handle_usage_event(
            event.detail_type, event.detail, store=factory.store(), publisher=factory.publisher(),
            prices=factory.prices(), window_minutes=factory.consumer_settings().recommendation_window_minutes,
        )
    except UnknownDetailType:
        # Retrying will not help; SQS redrives the message to the DLQ after maxReceiveCount.
        raise MalformedUsageEvent([Problem("detail-type", "not an event this consumer aggregates",
                                           "unknown_detail_type")]) from None
    except ValidationError as error:
        raise MalformedUsageEvent(scrubbed(error, prefix="detail.data", dotted=True, root="").problems) from None
    except Exception:
        logger.exception("usage record failed", extra={"message_id": record.message_id})
        raise
    logger.info("usage event handled", extra={
        "event_id": event.detail.event_id, "detail_type": event.detail_type,
        "applied": outcome.applied, "rightsizing": outcome.rightsizing,
    })
    metrics.add_metric(name="UsageEventsApplied" if outcome.applied else "UsageEventsDuplicate",
                       unit=MetricUnit.Count, value=1)
    if outcome.rightsizing == "published":
        metrics.add_metric(name="RightsizingRecommended", unit=MetricUnit.Count, value=1)


# Bad input fails that record alone, logged "record refused" by reason kind and counted as
# UsageEventsRejected (pitwall_shared.refusals); any other failure is retried, then dead-lettered.
record_handler = refusing_bad_input(_apply, logger=logger, metrics=metrics, metric="UsageEventsRejected",
                                    record_id=lambda record: record.message_id, id_name="message_id",
                                    what="message body", dotted=True)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def usage_consumer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # Powertools types the answer as a TypedDict of batchItemFailures; Lambda wants a plain dict.
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    return dict(response)
