"""Lambda entry point of the Firehose data transformation: parse the batch with Powertools' Firehose
classes, screen it, answer every recordId once with Powertools' response builder, emit metrics and
publish the batch's report and usage events (never failing the batch over them).
"""

from __future__ import annotations

import gc
import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationResponse,
)

from pii_redaction.adapters.comprehend import ComprehendGateway, comprehend_client
from pii_redaction.adapters.events import SOURCE, publish_batch_events
from pii_redaction.config import RedactionSettings
from pii_redaction.reporting import report_data, usage_data
from pii_redaction.screening import BatchOutcome, InputRecord, ScreeningOptions, screen
from pitwall_shared.observability import observability
from pitwall_shared.publisher import EventPublisher
from pitwall_shared.settings import load_settings

logger, metrics, tracer = observability("pii_redaction")
SETTINGS = load_settings(RedactionSettings)
OPTIONS = ScreeningOptions(
    paths=SETTINGS.pii_fields,
    entity_types=SETTINGS.pii_entity_types,
    min_score=SETTINGS.pii_min_score,
    mask_style=SETTINGS.pii_mask_style,
    mask_character=SETTINGS.pii_mask_character,
    language=SETTINGS.pii_language,
    failure_policy=SETTINGS.pii_failure_policy,
    newline=SETTINGS.pii_newline,
    max_depth=SETTINGS.pii_max_depth,
    contains_pack_chars=SETTINGS.pii_contains_pack_chars,
    detect_pack_chars=SETTINGS.pii_detect_pack_chars,
)
PUBLISHER = EventPublisher(source=SOURCE, bus_name=SETTINGS.event_bus_name) if SETTINGS.event_bus_name else None
# At most this many latency samples per batch go into the metric blob (EMF takes 100 values).
LATENCY_SAMPLES = 100
# Everything created at cold start lives as long as the sandbox: keep the garbage collector from
# walking it again on every collection during a batch.
gc.collect()
gc.freeze()


def _gateway(context: Any) -> ComprehendGateway:
    remaining_s = context.get_remaining_time_in_millis() / 1000 if context else 900.0
    deadline = time.monotonic() + remaining_s - SETTINGS.pii_time_reserve_ms / 1000
    return ComprehendGateway(comprehend_client(SETTINGS.pii_read_timeout_s), max_concurrency=SETTINGS.pii_max_concurrency,
                             max_rps=SETTINGS.pii_max_rps, max_attempts=SETTINGS.pii_max_attempts,
                             deadline=deadline)


def _emit_metrics(outcome: BatchOutcome, throttled: int) -> None:
    for result, count in outcome.results().items():
        metrics.add_metric(name=f"Records{result}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="RecordsMaskedUninspected", unit=MetricUnit.Count,
                       value=sum(1 for r in outcome.records if r.masked_uninspected))
    for entity_type, count in outcome.entities().items():
        metrics.add_metric(name=f"Entities_{entity_type}", unit=MetricUnit.Count, value=count)
    for api, line in outcome.usage.items():
        metrics.add_metric(name=f"ComprehendUnits_{api}", unit=MetricUnit.Count, value=line.billed_units)
        metrics.add_metric(name=f"ComprehendFailedCalls_{api}", unit=MetricUnit.Count, value=line.failed_requests)
        for latency in line.latencies_ms[:LATENCY_SAMPLES]:
            metrics.add_metric(name="ComprehendLatency", unit=MetricUnit.Milliseconds, value=latency)
    metrics.add_metric(name="ComprehendThrottled", unit=MetricUnit.Count, value=throttled)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Firehose data-transformation handler."""
    batch = KinesisFirehoseEvent(event)
    # `data` missing, null or not a string fails that record alone (never a KeyError for the batch).
    records = [InputRecord(record.record_id, data if isinstance(data := record.raw_event.get("data"), str) else None)
               for record in batch.records]
    gateway = _gateway(context)
    outcome = screen(records, OPTIONS, gateway)

    response = KinesisFirehoseDataTransformationResponse()
    for record in outcome.records:
        if record.reason:
            logger.warning("record not redacted normally", extra={"record_id": record.record_id,
                                                                    "result": record.result, "reason": record.reason,
                                                                    "reason_kind": record.reason_kind})
        response.add_record(KinesisFirehoseDataTransformationRecord(
            record_id=record.record_id, result=record.result, data=record.data))

    _emit_metrics(outcome, gateway.throttled)
    stream = batch.delivery_stream_arn.rsplit("/", 1)[-1]
    publish_batch_events(PUBLISHER, report_data(outcome, delivery_stream=stream, invocation_id=batch.invocation_id),
                         usage_data(outcome), invocation_id=batch.invocation_id, logger=logger)
    logger.info("batch screened", extra={"records": len(records), "results": dict(outcome.results()),
                                         "fields_inspected": outcome.fields_inspected})
    return response.asdict()
