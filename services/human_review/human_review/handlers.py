"""Lambda entry points of human review: the trigger queue and the completion queue.

Both are SQS consumers with Powertools partial batch responses: a malformed or failing message is
reported in `batchItemFailures` alone and reaches the dead-letter queue after the queue's
`maxReceiveCount`; the others in the batch are done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from human_review.adapters.a2i import HumanLoops
from human_review.adapters.loops_table import LoopsTable
from human_review.adapters.state_table import StateTable
from human_review.adapters.storage import Storage
from human_review.completion import STATUS_CHANGE, CompletionPorts, handle_status_change
from human_review.models import HumanLoopStatusChange
from human_review.policies import PolicyBook, load_policy_book
from human_review.settings import Settings
from human_review.trigger import EventBridgeEvent, TriggerPorts, handle_prediction
from pitwall_shared.inputs import BadInput, read_json
from pitwall_shared.observability import observability
from pitwall_shared.publisher import EventPublisher
from pitwall_shared.settings import load_settings

logger, metrics, tracer = observability("human_review")
SOURCE = "pitwall.human_review"


@dataclass
class Service:
    book: PolicyBook
    trigger: TriggerPorts
    completion: CompletionPorts


@functools.cache
def service() -> Service:
    """Settings, policies and adapters, built once per process (cold start)."""
    settings = load_settings(Settings)
    book = load_policy_book(settings.policies_json(), settings.default_flow_definition_arn)
    publisher = EventPublisher(source=SOURCE, bus_name=settings.event_bus_name)
    loops, storage = LoopsTable(settings.loops_table_name), Storage()
    return Service(
        book=book,
        trigger=TriggerPorts(loops=loops, state=StateTable(settings.state_table_name), storage=storage,
                             human_loops=HumanLoops(), publisher=publisher, bucket=settings.review_bucket_name),
        completion=CompletionPorts(loops=loops, storage=storage, publisher=publisher,
                                   bucket=settings.review_bucket_name),
    )


def _without_contents(error: ValidationError) -> ValueError:
    # pydantic's message repeats the input value, which may be record contents: keep field + reason.
    problems = "; ".join(f"{'.'.join(str(part) for part in item['loc']) or '<root>'}: {item['msg']}"
                         for item in error.errors(include_input=False, include_url=False))
    return ValueError(problems)


def _contents_safe(handle: Callable[[SQSRecord], None]) -> Callable[[SQSRecord], None]:
    @functools.wraps(handle)
    def wrapper(record: SQSRecord) -> None:
        try:
            handle(record)
        except ValidationError as error:
            raise _without_contents(error) from None

    return wrapper


def _event(record: SQSRecord) -> EventBridgeEvent:
    try:
        return EventBridgeEvent.model_validate(read_json(record.body, what="message body"))
    except BadInput as error:
        raise ValueError(str(error)) from None


@_contents_safe
def _trigger_record(record: SQSRecord) -> None:
    event = _event(record)
    outcome = handle_prediction(event, service().book, service().trigger)
    metrics.add_metric(name=f"Prediction_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("prediction handled", extra={"outcome": outcome.value, "detail_type": event.detail_type,
                                             "event_id": event.detail.get("event_id")})


@_contents_safe
def _completion_record(record: SQSRecord) -> None:
    event = _event(record)
    if event.detail_type != STATUS_CHANGE:
        raise ValueError(f"detail-type: expected {STATUS_CHANGE!r}")
    change = HumanLoopStatusChange.model_validate(event.detail)
    outcome = handle_status_change(change, service().book, service().completion)
    metrics.add_metric(name=f"Loop{change.human_loop_status}_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("loop status handled", extra={"outcome": outcome.value, "human_loop_name": change.human_loop_name,
                                              "status": change.human_loop_status})


# Report every failure in batchItemFailures, even when the whole batch failed, so the queue (not an
# exception) decides the retries and the DLQ, the same way for one bad message or ten.
_trigger_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_completion_processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def trigger_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS: PitBattlePredicted / FaceoffPredicted / ReviewCandidate → maybe a human loop."""
    metrics.add_metric(name="PredictionMessages", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return dict(process_partial_response(event=event, record_handler=_trigger_record,
                                         processor=_trigger_processor, context=context))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def completion_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """SQS: A2I `HumanLoop Status Change` → manifest part, record, HumanReviewCompleted."""
    metrics.add_metric(name="StatusChangeMessages", unit=MetricUnit.Count, value=len(event.get("Records", [])))
    return dict(process_partial_response(event=event, record_handler=_completion_record,
                                         processor=_completion_processor, context=context))
