"""The trigger queue: a candidate over the per-minute ceiling goes back with a delay (issue 19 item 3).

A new message (not a failed receive) so waiting never counts toward the queue's `maxReceiveCount`;
its redelivery finds the loop record Pending and finishes it, so a duplicate starts nothing twice.
"""

from __future__ import annotations

from typing import Any

from pitwall_shared.aws import client


class DeferQueue:
    def __init__(self, queue_url: str, sqs: Any = None) -> None:
        self.queue_url = queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> Any:
        return self._sqs or client("sqs")

    def send_later(self, body: str, delay_s: int, *, deferrals: int) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=max(0, min(900, delay_s)),
                              MessageAttributes={"deferrals": {"DataType": "Number", "StringValue": str(deferrals)}})
