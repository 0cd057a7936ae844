"""Subscribes the dashboard to the Pitwall bus: a rule and a queue of its own, polled here.

The dashboard sees exactly what the services publish. It adds two reads the events point at: the
newest object in the redacted bucket (a sample of redacted output, never the raw backup) and the
manifest part a completed human loop wrote.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from local.dashboard.state import DashboardState, apply_event
from pitwall_shared.jsonlines import split_lines

log = logging.getLogger("pitwall.local")
QUEUE_NAME = "pitwall-local-dashboard"
RULE_NAME = "pitwall-local-dashboard"


class DashboardFeed:
    """Polls the dashboard queue in a thread and folds every event into `state`."""

    def __init__(self, *, sqs: Any, events: Any, s3: Any, bus_name: str, redacted_bucket: str | None,
                 on_change: Callable[[], None]) -> None:
        self.sqs, self.events, self.s3 = sqs, events, s3
        self.bus_name = bus_name
        self.redacted_bucket = redacted_bucket
        self.on_change = on_change
        self.state = DashboardState()
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self.queue_url = ""
        self._sample_pending = False  # a PiiRedactionReport came; its batch's object is not read yet
        self._thread = threading.Thread(target=self._loop, name="dashboard-feed", daemon=True)

    def subscribe(self) -> None:
        """Create the queue (encrypted) and the rule that sends every Pitwall event to it."""
        self.queue_url = self.sqs.create_queue(
            QueueName=QUEUE_NAME, Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=RULE_NAME, EventBusName=self.bus_name,
                             EventPattern=json.dumps({"source": [{"prefix": "pitwall."}]}))
        self.events.put_targets(Rule=RULE_NAME, EventBusName=self.bus_name, Targets=[{"Id": "dashboard", "Arn": arn}])

    def start(self) -> None:
        self.subscribe()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                                    WaitTimeSeconds=1).get("Messages", [])
            except Exception:  # noqa: BLE001 - the dashboard must outlive a hiccup of the local SQS
                log.exception("dashboard feed: receive failed")
                self._stop.wait(0.5)
                continue
            for message in messages:
                self.handle(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            # Firehose writes to S3 after the function (which published the report) returned, so
            # the batch's object may only appear a moment after its report: look until it does.
            if self._sample_pending:
                newest = self._newest_redacted_key()
                if newest is not None and newest != self.state.pii.get("sample_key"):
                    with self.lock:
                        self._read_redacted_sample(newest)
                    self._sample_pending = False
                    self.on_change()

    def handle(self, body: str) -> None:
        """Fold one EventBridge event (an SQS message body) into the state; ignore what is malformed."""
        try:
            event = json.loads(body)
            detail_type, detail = event["detail-type"], event["detail"]
        except (ValueError, KeyError, TypeError):
            log.warning("dashboard feed: skipped a message that is not an EventBridge event")
            return
        with self.lock:
            try:
                apply_event(self.state, detail_type, detail)
            except (KeyError, TypeError, ValueError):
                log.warning("dashboard feed: %s event without the expected fields", detail_type)
                return
            if detail_type == "PiiRedactionReport":
                self._sample_pending = True
            if detail_type == "HumanReviewCompleted":
                self._read_manifest_line(detail.get("data", {}))
        self.on_change()

    def _newest_redacted_key(self) -> str | None:
        if not self.redacted_bucket:
            return None
        try:
            listing = self.s3.list_objects_v2(Bucket=self.redacted_bucket, Prefix="redacted/").get("Contents", [])
        except Exception:  # noqa: BLE001 - no sample is better than no dashboard
            return None
        return max(listing, key=lambda o: o["LastModified"])["Key"] if listing else None

    def _read_redacted_sample(self, key: str) -> None:
        try:
            body = self.s3.get_object(Bucket=self.redacted_bucket, Key=key)["Body"].read()
            first = split_lines(body.decode("utf-8"))[0]
            self.state.pii["sample"] = json.loads(first)
            self.state.pii["sample_key"] = key
        except Exception:  # noqa: BLE001 - a missing sample leaves the panel's other figures intact
            log.warning("dashboard feed: no redacted sample could be read")

    def _read_manifest_line(self, data: dict[str, Any]) -> None:
        uri = data.get("manifest_part_s3_uri")
        if not uri or not uri.startswith("s3://"):
            return
        bucket, _, key = uri[5:].partition("/")
        try:
            line = split_lines(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())[0]
        except Exception:  # noqa: BLE001
            return
        for loop in self.state.review["completed"]:
            if loop["human_loop_name"] == data.get("human_loop_name"):
                loop["manifest_line"] = line
