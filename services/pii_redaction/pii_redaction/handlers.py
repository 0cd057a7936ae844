"""Lambda entry point of the Firehose data transformation: the batch parsed with Powertools' Firehose
classes, screened (logic/screening.py) with objects from `factory`, every recordId answered once
with Powertools' response builder, metrics emitted and the batch's report and usage events published
(never failing the batch over them). Uncertain entities go to human review during screening
(`factory.reviews`: task object + PiiReviewCandidate event).
"""

from __future__ import annotations

import gc
from typing import Any

from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationResponse,
)

from pii_redaction import factory
from pii_redaction.adapters.events import publish_batch_events
from pii_redaction.logic.reporting import metric_figures, report_data, usage_data
from pii_redaction.logic.screening import screen
from pii_redaction.models import InputRecord
from pitwall_shared.observability import observability

logger, metrics, tracer = observability("pii_redaction")
factory.options(), factory.publisher()  # built in the init phase: bad settings fail at cold start
# Everything created at cold start lives as long as the sandbox: keep the garbage collector from
# walking it again on every collection during a batch.
gc.collect()
gc.freeze()


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Firehose data-transformation handler."""
    batch = KinesisFirehoseEvent(event)
    # `data` missing, null or not a string fails that record alone (never a KeyError for the batch).
    records = [InputRecord(record.record_id, data if isinstance(data := record.raw_event.get("data"), str) else None)
               for record in batch.records]
    gateway = factory.gateway(context)
    outcome = screen(records, factory.options(), gateway, factory.reviews(batch.invocation_id, logger))

    response = KinesisFirehoseDataTransformationResponse()
    for record in outcome.records:
        if record.reason:
            logger.warning("record not redacted normally", extra={"record_id": record.record_id,
                                                                    "result": record.result, "reason": record.reason,
                                                                    "reason_kind": record.reason_kind})
        response.add_record(KinesisFirehoseDataTransformationRecord(
            record_id=record.record_id, result=record.result, data=record.data))

    for metric in metric_figures(outcome, gateway.throttled):
        metrics.add_metric(name=metric.name, unit=metric.unit, value=metric.value)
    stream = batch.delivery_stream_arn.rsplit("/", 1)[-1]
    publish_batch_events(factory.publisher(),
                         report_data(outcome, delivery_stream=stream, invocation_id=batch.invocation_id),
                         usage_data(outcome), invocation_id=batch.invocation_id, logger=logger)
    logger.info("batch screened", extra={"records": len(records), "results": dict(outcome.results()),
                                         "fields_inspected": outcome.fields_inspected})
    return response.asdict()
