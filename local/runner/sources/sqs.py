"""SQS event source: Lambda's poller for a queue, with partial batch responses.

As in AWS: a batch is received with the queue's visibility timeout; on success every message is
deleted except those named in `batchItemFailures` (when the mapping has ReportBatchItemFailures);
on a function error none is deleted. Undeleted messages come back when their visibility timeout
ends, and SQS itself (moto) moves them to the dead-letter queue after `maxReceiveCount`.
Like Lambda, several batches of one queue run at once: one polling thread per sandbox of the
function (`LocalCloud` sizes the pool from the mapping's `ScalingConfig.MaximumConcurrency`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from local.runner.runner import InvocationError, Runner
from local.runner.sources.base import Poller

log = logging.getLogger("pitwall.local")


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda builds for a batch of SQS messages."""
    records = []
    for message in messages:
        attributes = message.get("Attributes", {})
        records.append({
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                "SentTimestamp": attributes.get("SentTimestamp", "0"),
                "SenderId": attributes.get("SenderId", "local"),
                "ApproximateFirstReceiveTimestamp": attributes.get("ApproximateFirstReceiveTimestamp", "0"),
            },
            "messageAttributes": {
                name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType", "String")}
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        })
    return {"Records": records}


class SqsPoller(Poller):
    """Feeds one queue to one function, as an `AWS::Lambda::EventSourceMapping` of kind SQS."""

    def __init__(self, runner: Runner, logical_id: str, mapping: dict[str, Any], sqs: Any, region: str) -> None:
        super().__init__(f"sqs:{logical_id}", threads=runner.specs[logical_id].concurrency)
        self.runner = runner
        self.logical_id = logical_id
        self.sqs = sqs
        self.region = region
        self.queue_arn = mapping["EventSourceArn"]
        self.batch_size = min(int(mapping.get("BatchSize", 10)), 10)
        self.partial = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
        self.queue_url = sqs.get_queue_url(QueueName=self.queue_arn.rsplit(":", 1)[1])["QueueUrl"]
        self.delivered = 0
        self.failed = 0

    def poll_once(self) -> bool:
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return False
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            result = self.runner.invoke(self.logical_id, event)
        except InvocationError as error:
            self.count("failed", len(messages))
            log.warning("%s: function error %s; %d message(s) return after the visibility timeout",
                        self.name, error.payload.get("errorType"), len(messages))
            return True
        failed_ids = self._failed_ids(result, messages)
        done = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)])
        self.count("delivered", len(done))
        self.count("failed", len(failed_ids))
        return True

    def _failed_ids(self, result: Any, messages: list[dict[str, Any]]) -> set[str]:
        if not self.partial:
            return set()
        all_ids = {m["MessageId"] for m in messages}
        try:
            items = (result or {}).get("batchItemFailures") or []
            ids = {item["itemIdentifier"] for item in items}
        except (AttributeError, KeyError, TypeError):
            log.warning("%s: malformed batchItemFailures %s; the whole batch fails", self.name, json.dumps(result)[:200])
            return all_ids
        # Lambda treats an unknown or empty identifier as a failure of the whole batch.
        return all_ids if ids - all_ids else ids
