"""Fault injection for the hardening tests: faults inside the local cloud's own AWS (moto runs in the
test process, so its request handlers can be wrapped here), sandbox kills, and a tap on the bus.

The functions under test run unchanged in their worker processes; what they see is what AWS does
on a bad day: DynamoDB `ProvisionedThroughputExceededException`, EventBridge `PutEvents` answers
with `FailedEntryCount` > 0, a slow dependency, a sandbox that dies in the middle of a batch.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb import responses as dynamodb_responses
from moto.events import models as events_models

# DynamoDB operations (moto's DynamoHandler method names) a throttling storm hits.
DYNAMODB_WRITES = ("put_item", "update_item", "transact_write_items", "batch_write_item", "delete_item")
DYNAMODB_READS = ("get_item", "query", "batch_get_item")


class ProvisionedThroughputExceeded(JsonRESTError):
    """What DynamoDB answers when a table or partition is over its throughput (botocore retries it)."""

    code = 400

    def __init__(self) -> None:
        super().__init__("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                         "The level of configured provisioned throughput for the table was exceeded.")


@dataclass
class FaultPlan:
    """Which calls fail: each with probability `rate` (seeded), and at most `limit` in all."""

    rate: float
    seed: int = 0
    limit: int | None = None
    injected: int = 0
    calls: int = 0
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def hit(self) -> bool:
        with self._lock:
            self.calls += 1
            if self.limit is not None and self.injected >= self.limit:
                return False
            if self._random.random() < self.rate:
                self.injected += 1
                return True
            return False


class AccessDenied(JsonRESTError):
    """A permission missing from the function's role (a bad deploy): not retried by botocore."""

    code = 400

    def __init__(self) -> None:
        super().__init__("AccessDeniedException", "User is not authorized to perform this action (injected)")


@contextmanager
def dynamodb_throttling(plan: FaultPlan, operations: tuple[str, ...] = DYNAMODB_WRITES + DYNAMODB_READS,
                        tables: Callable[[str], bool] | None = None,
                        error: Callable[[], Exception] = ProvisionedThroughputExceeded) -> Iterator[FaultPlan]:
    """Answer DynamoDB calls with ProvisionedThroughputExceededException (or `error`) as `plan` says.

    `tables` limits the storm to requests naming a matching table (TableName or TransactItems).
    """
    originals = {name: getattr(dynamodb_responses.DynamoHandler, name) for name in operations}

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def faulty(self: Any) -> Any:
            if (tables is None or _names_table(self.body, tables)) and plan.hit():
                raise error()
            return original(self)
        return faulty

    for name, original in originals.items():
        setattr(dynamodb_responses.DynamoHandler, name, wrap(original))
    try:
        yield plan
    finally:
        for name, original in originals.items():
            setattr(dynamodb_responses.DynamoHandler, name, original)


def _names_table(body: Any, match: Callable[[str], bool]) -> bool:
    try:
        request = json.loads(body) if isinstance(body, str | bytes) else body
    except ValueError:
        return False
    return isinstance(request, dict) and any(match(name) for name in _table_names(request))


def _table_names(request: dict[str, Any]) -> list[str]:
    names = [request["TableName"]] if "TableName" in request else []
    for item in request.get("TransactItems", []):
        names += [op["TableName"] for op in item.values() if isinstance(op, dict) and "TableName" in op]
    names += list(request.get("RequestItems", {}))
    return names


@contextmanager
def put_events_partial_failures(plan: FaultPlan, sources: Callable[[str], bool] = lambda s: s.startswith("pitwall.")
                                ) -> Iterator[FaultPlan]:
    """Fail single `PutEvents` entries (InternalFailure, not delivered) while the rest go through."""
    original = events_models.EventsBackend.put_events

    def faulty(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        verdicts = [sources(str(event.get("Source", ""))) and plan.hit() for event in events]
        passed = iter(original(self, [e for e, failed in zip(events, verdicts, strict=True) if not failed]))
        return [{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal service error (injected)"}
                if failed else next(passed) for failed in verdicts]

    events_models.EventsBackend.put_events = faulty  # type: ignore[method-assign]
    try:
        yield plan
    finally:
        events_models.EventsBackend.put_events = original  # type: ignore[method-assign]


@contextmanager
def slowed(target: Any, method: str, delay_s: float) -> Iterator[None]:
    """Make `target.method` (a class or an instance) take `delay_s` longer, to widen a batch in time."""
    original = getattr(target, method)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(delay_s)
        return original(*args, **kwargs)

    setattr(target, method, slow)
    try:
        yield
    finally:
        if isinstance(target, type):
            setattr(target, method, original)
        else:
            delattr(target, method)


class SandboxKiller:
    """Kills a function's sandbox (SIGKILL) while it is inside an invocation, once `ready()` holds.

    This is a Lambda sandbox dying mid-batch: the poller gets no answer, deletes nothing, and the
    event source redelivers the whole batch.
    """

    def __init__(self, cloud: Any, logical_id: str, ready: Callable[[], bool], timeout_s: float = 60) -> None:
        self.cloud, self.logical_id, self.ready, self.timeout_s = cloud, logical_id, ready, timeout_s
        self.killed_pids: list[int] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"killer-{logical_id}")

    def start(self) -> SandboxKiller:
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join(self.timeout_s + 5)

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.ready():
                for worker in self.cloud.runner.workers(self.logical_id):
                    process = worker.process
                    if process is not None and process.is_alive():
                        # The process itself, not _Worker.kill(): the invoking thread must see the
                        # pipe close as it would in AWS (no answer), not have its connection removed.
                        process.kill()
                        self.killed_pids.append(process.pid)
                return
            time.sleep(0.005)


class BusTap:
    """A queue subscribed to every `pitwall.*` event on the bus: what the services really published."""

    def __init__(self, cloud: Any, name: str) -> None:
        self.cloud = cloud
        sqs, events = cloud.client("sqs"), cloud.client("events")
        self.queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.bus = cloud.physical_id("PitwallBus")
        self.rule = name
        events.put_rule(Name=name, EventBusName=self.bus, EventPattern=json.dumps({"source": [{"prefix": "pitwall."}]}))
        events.put_targets(Rule=name, EventBusName=self.bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.events: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        sqs = self.cloud.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.events
            for message in messages:
                self.events.append(json.loads(message["Body"]))
            sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [event["detail"] for event in self.drain() if event["detail-type"] == detail_type]

    def duplicates(self, detail_type: str) -> dict[str, int]:
        """event_id -> times seen, for ids seen more than once."""
        counts = Counter(detail["event_id"] for detail in self.of_type(detail_type))
        return {event_id: n for event_id, n in counts.items() if n > 1}

    def close(self) -> None:
        events = self.cloud.client("events")
        events.remove_targets(Rule=self.rule, EventBusName=self.bus, Ids=["tap"])
        events.delete_rule(Name=self.rule, EventBusName=self.bus)


def queue_url(cloud: Any, logical_id: str) -> str:
    """The URL of a template queue (Ref of AWS::SQS::Queue is its URL)."""
    return str(cloud.physical_id(logical_id))


def queue_depth(cloud: Any, logical_id: str) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=queue_url(cloud, logical_id),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def emulator_app(cloud: Any, name: str) -> Any:
    """The in-process WSGI app object of one of the local cloud's emulators."""
    url = cloud.emulators[name].url
    for server in cloud.servers:
        if server.url == url:
            return server.server.app
    raise KeyError(name)
