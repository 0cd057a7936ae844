"""Lambda entry points of human review: the trigger queue, the completion queue, and the custom
resource that creates the stack's A2I flow definition (`a2i_setup_handler`).

Both are SQS consumers with Powertools partial batch responses: a malformed or failing message is
reported in `batchItemFailures` alone and reaches the dead-letter queue after the queue's
`maxReceiveCount`; the others in the batch are done.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import BaseModel, ValidationError

from human_review.adapters.a2i_setup import send_response
from human_review.factory import a2i_setup, service
from human_review.logic import flow_setup
from human_review.logic.completion import STATUS_CHANGE, handle_status_change
from human_review.logic.policies import REVIEW_CANDIDATE, PolicyError
from human_review.logic.trigger import (
    Outcome,
    handle_outcome,
    handle_prediction,
    seconds_to_next_minute,
)
from human_review.models import HumanLoopStatusChange
from pitwall_shared.events import AwsEvent
from pitwall_shared.inputs import BadInput, Problem, read_json, validate
from pitwall_shared.observability import observability
from pitwall_shared.refusals import refusing_bad_input, scrubbed

logger, metrics, tracer = observability("human_review")
M = TypeVar("M", bound=BaseModel)


class InvalidEvent(BadInput):
    """A message that is not an event this consumer can act on; names the field, never the value."""


def _event(record: SQSRecord) -> AwsEvent:
    try:
        return validate(AwsEvent, read_json(record.body, what="message body"), dotted=True,
                        root="message body")
    except BadInput as error:
        raise InvalidEvent(error.problems) from None


def _detail(model: type[M], event: AwsEvent) -> M:
    try:
        return model.model_validate(event.detail)
    except ValidationError as error:
        raise InvalidEvent(scrubbed(error, prefix="detail", dotted=True, root="").problems) from None


def _as_invalid_event(error: ValueError, prefix: str) -> InvalidEvent:
    """The review rules' own refusals (`PolicyError`, `ValueError("<field>: <reason>")`) and pydantic's
    (fields under `prefix`), as the problems of an `InvalidEvent`."""
    if isinstance(error, ValidationError):
        return InvalidEvent(scrubbed(error, prefix=prefix, dotted=True, root="").problems)
    if isinstance(error, PolicyError):  # its text names the source, detail-type or policy sent
        return InvalidEvent([Problem("detail-type", "no review policy for this source, detail-type and "
                                                    "data.review_policy", "no_policy")])
    return InvalidEvent([Problem.of(str(error))])


def _trigger(record: SQSRecord) -> None:
    event = _event(record)
    if event.detail_type == REVIEW_CANDIDATE and (problems := service().origins.problems(
            event.source, event.detail.get("data"))):
        raise InvalidEvent(problems)  # an unlisted source or task-object bucket: refused, never a loop
    if service().book.for_outcome(event.source, event.detail_type):
        _outcome(event)
        return
    try:
        outcome = handle_prediction(event, service().book, service().trigger)
    except BadInput:
        raise
    except ValueError as error:  # pydantic's ValidationError included: the event does not fit its policy
        raise _as_invalid_event(error, "detail.data") from None
    if outcome is Outcome.DEFERRED:
        _defer(record)
    metrics.add_metric(name=f"Prediction_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("prediction handled", extra={"outcome": outcome.value, "detail_type": event.detail_type,
                                             "event_id": event.detail.get("event_id")})


class Deferred(RuntimeError):
    """Over the per-minute ceiling with no queue to put it back on: fail the message, SQS retries."""


def _defer(record: SQSRecord) -> None:
    """Put the candidate back for the next minute (a new message, so waiting is not a failed receive)."""
    defer = service().defer
    if defer is None:
        raise Deferred("over the loops-per-minute ceiling; retried after the visibility timeout")
    attribute = record.message_attributes["deferrals"]  # Powertools: None when absent
    deferrals = int(attribute.string_value or 0) + 1 if attribute is not None else 1
    delay = min(service().max_defer_delay_s, seconds_to_next_minute(service().trigger.clock()))
    defer.send_later(record.body, delay, deferrals=deferrals)


def _outcome(event: AwsEvent) -> None:
    try:
        outcome, closed = handle_outcome(event, service().book, service().trigger)
    except BadInput:
        raise
    except ValueError as error:
        raise _as_invalid_event(error, "detail.data") from None
    metrics.add_metric(name="ForecastsClosed", unit=MetricUnit.Count, value=closed)
    logger.info("outcome handled", extra={"outcome": outcome.value, "detail_type": event.detail_type,
                                          "closed": closed, "event_id": event.detail.get("event_id")})


def _completion(record: SQSRecord) -> None:
    event = _event(record)
    if event.detail_type != STATUS_CHANGE:
        raise InvalidEvent([Problem("detail-type", f"expected {STATUS_CHANGE!r}", "unexpected_detail_type")])
    change = _detail(HumanLoopStatusChange, event)
    try:
        outcome = handle_status_change(change, service().book, service().completion)
    except BadInput:
        raise
    except ValueError as error:  # no output URI, or the loop's output.json does not have A2I's shape
        raise _as_invalid_event(error, "output.json") from None
    metrics.add_metric(name=f"Loop{change.human_loop_status}_{outcome.value}", unit=MetricUnit.Count, value=1)
    logger.info("loop status handled", extra={"outcome": outcome.value, "human_loop_name": change.human_loop_name,
                                              "status": change.human_loop_status})


# Bad input fails its message alone, logged "record refused" by reason kind and counted as
# RecordsRefused (pitwall_shared.refusals); any other failure is retried, then dead-lettered.
_trigger_record = refusing_bad_input(_trigger, logger=logger, metrics=metrics, record_id=lambda r: r.message_id,
                                     id_name="message_id", what="message body", dotted=True)
_completion_record = refusing_bad_input(_completion, logger=logger, metrics=metrics,
                                        record_id=lambda r: r.message_id, id_name="message_id",
                                        what="message body", dotted=True)


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


# --- the stack's A2I objects (issue 14): CloudFormation custom resource `Custom::A2iFlowDefinition`
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the function's root: worker_templates/ beside the package
SETUP_MARGIN_MS = 10_000  # answer CloudFormation before Lambda's deadline, whatever happens


def a2i_setup_handler(event: dict[str, Any], context: Any) -> None:
    """Create / Update / Delete the flow definition and its human task UI; always answer CloudFormation.

    Physical id: the flow definition's ARN. Data: `Arn`, `Name`, `HumanTaskUiArn`. A failure is sent
    as FAILED with its reason (configuration only; no record contents pass here).
    """
    request_type = event.get("RequestType")
    physical_id = str(event.get("PhysicalResourceId") or f"not-created-{event.get('LogicalResourceId', 'resource')}")
    deadline_s = time.monotonic() + max(0, context.get_remaining_time_in_millis() - SETUP_MARGIN_MS) / 1000
    setup = a2i_setup()
    try:
        if request_type in ("Create", "Update"):
            props = flow_setup.parse_properties(event.get("ResourceProperties") or {})
            content = (PACKAGE_ROOT / props.UiTemplate).read_text(encoding="utf-8")
            flow_setup.check_ui_template(props, content)
            ui_arn, ui_created = setup.ensure_human_task_ui(flow_setup.human_task_ui_request(props, content))
            try:
                arn = setup.ensure_flow_definition(flow_setup.flow_definition_request(props, ui_arn),
                                                   deadline_s=deadline_s)
            except Exception:
                if ui_created:  # a failed request leaves nothing (CloudFormation deletes no id it was not given)
                    setup.delete_human_task_ui(flow_setup.flow_name(props))
                raise
            body = flow_setup.response(event, status="SUCCESS", physical_id=arn,
                                       data={"Arn": arn, "Name": flow_setup.flow_name(props), "HumanTaskUiArn": ui_arn})
        elif request_type == "Delete":
            if flow_setup.is_flow_definition_arn(physical_id):
                setup.delete(physical_id.rsplit("/", 1)[-1], deadline_s=deadline_s)
            body = flow_setup.response(event, status="SUCCESS", physical_id=physical_id)
        else:
            raise flow_setup.SetupError(f"RequestType: expected Create, Update or Delete, got {str(request_type)[:40]!r}")
    except Exception as error:  # noqa: BLE001 - every failure must reach CloudFormation, or it waits an hour
        logger.exception("A2I setup failed", extra={"request_type": request_type})
        body = flow_setup.response(event, status="FAILED", physical_id=physical_id,
                                   reason=f"{type(error).__name__}: {error}")
    else:
        logger.info("A2I setup done", extra={"request_type": request_type, "physical_id": body["PhysicalResourceId"]})
    send_response(str(event["ResponseURL"]), body)
