"""Kinesis event source: Lambda's shard poller, with partial batch responses and bisection.

Per shard, records are delivered in order. A batch that reports `batchItemFailures` is retried
from the first failed sequence number; a function error splits the batch in two when
BisectBatchOnFunctionError is set; after MaximumRetryAttempts the failed records are described
in a message to the OnFailure destination (an SQS queue) and the shard moves on, as in AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from local.runner.runner import InvocationError, Runner
from local.runner.sources.base import Poller

log = logging.getLogger("pitwall.local")


def kinesis_event(records: list[dict[str, Any]], stream_arn: str, shard_id: str, region: str) -> dict[str, Any]:
    """The event Lambda builds for a batch of records of one shard."""
    return {"Records": [{
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/local",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    } for record in records]}


class KinesisPoller(Poller):
    """Feeds every shard of one stream to one function (an EventSourceMapping of kind Kinesis)."""

    idle_s = 0.05

    def __init__(self, runner: Runner, logical_id: str, mapping: dict[str, Any], kinesis: Any, sqs: Any,
                 region: str) -> None:
        super().__init__(f"kinesis:{logical_id}")
        self.runner = runner
        self.logical_id = logical_id
        self.kinesis = kinesis
        self.sqs = sqs
        self.region = region
        self.stream_arn = mapping["EventSourceArn"]
        self.stream_name = self.stream_arn.split("/", 1)[1]
        self.batch_size = int(mapping.get("BatchSize", 100))
        self.partial = "ReportBatchItemFailures" in mapping.get("FunctionResponseTypes", [])
        self.bisect = bool(mapping.get("BisectBatchOnFunctionError", False))
        self.max_retries = int(mapping.get("MaximumRetryAttempts", -1))
        self.on_failure = mapping.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.starting_position = mapping.get("StartingPosition", "LATEST")
        self.iterators: dict[str, str] = {}
        self.delivered = 0
        self.sent_to_failure_destination = 0

    def _iterator(self, shard_id: str) -> str:
        if shard_id not in self.iterators:
            self.iterators[shard_id] = self.kinesis.get_shard_iterator(
                StreamName=self.stream_name, ShardId=shard_id, ShardIteratorType=self.starting_position
            )["ShardIterator"]
        return self.iterators[shard_id]

    def poll_once(self) -> bool:
        busy = False
        shards = self.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            response = self.kinesis.get_records(ShardIterator=self._iterator(shard_id), Limit=self.batch_size)
            self.iterators[shard_id] = response["NextShardIterator"]
            records = response["Records"]
            if records:
                busy = True
                self._deliver(records, shard_id)
        return busy

    def _deliver(self, records: list[dict[str, Any]], shard_id: str) -> None:
        """Deliver `records` until each one succeeded or went to the failure destination."""
        retries = 0
        while records:
            failed = True
            try:
                result = self.runner.invoke(self.logical_id, kinesis_event(records, self.stream_arn, shard_id, self.region))
                first_failed = self._first_failed(result, records)
                if first_failed is None:
                    self.delivered += len(records)
                    return
                self.delivered += first_failed
                records = records[first_failed:]
                # Progress resets the retry count; a record that fails at the head of its batch does not.
                failed = first_failed == 0
            except InvocationError as error:
                log.warning("%s: function error %s on %d record(s)", self.name, error.payload.get("errorType"), len(records))
            if failed and self.bisect and len(records) > 1:
                middle = len(records) // 2
                self._deliver(records[:middle], shard_id)
                self._deliver(records[middle:], shard_id)
                return
            retries = retries + 1 if failed else 0
            if 0 <= self.max_retries < retries:
                self._send_to_failure_destination(records, shard_id)
                return
            if failed:
                time.sleep(min(0.05 * retries, 0.5))

    def _first_failed(self, result: Any, records: list[dict[str, Any]]) -> int | None:
        if not self.partial:
            return None
        try:
            items = (result or {}).get("batchItemFailures") or []
            failed = {item["itemIdentifier"] for item in items}
        except (AttributeError, KeyError, TypeError):
            return 0
        if not failed:
            return None
        positions = [i for i, record in enumerate(records) if record["SequenceNumber"] in failed]
        # An identifier that is not in the batch makes Lambda retry the whole batch.
        return min(positions) if len(positions) == len(failed) else 0

    def _send_to_failure_destination(self, records: list[dict[str, Any]], shard_id: str) -> None:
        self.sent_to_failure_destination += len(records)
        if not self.on_failure:
            log.error("%s: dropping %d record(s) after retries (no failure destination)", self.name, len(records))
            return
        now = datetime.now(UTC).isoformat()
        message = {
            "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": self.logical_id,
                               "approximateInvokeCount": self.max_retries + 1},
            "version": "1.0",
            "timestamp": now,
            "KinesisBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["SequenceNumber"],
                "endSequenceNumber": records[-1]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": records[0]["ApproximateArrivalTimestamp"].isoformat(),
                "approximateArrivalOfLastRecord": records[-1]["ApproximateArrivalTimestamp"].isoformat(),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        queue_url = self.sqs.get_queue_url(QueueName=self.on_failure.rsplit(":", 1)[1])["QueueUrl"]
        self.sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
