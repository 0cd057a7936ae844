"""The few places where moto's CloudFormation differs from AWS in ways our template relies on.

Each patch names the AWS behaviour it restores. They are applied in the process that runs moto
(the local cloud, or a test using `mock_aws`) before a stack is created.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_applied = False


def apply() -> None:
    """Apply every patch once."""
    global _applied
    if _applied:
        return
    from moto.events.models import EventBus

    # AWS: `Ref` of an AWS::Events::EventBus returns the bus name. moto's model has no
    # physical_resource_id, so its parser would hand the Python object to the referencing resource.
    if not hasattr(EventBus, "physical_resource_id"):
        EventBus.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    # The runner is this stack's Lambda: it polls queues and streams itself (local/runner/sources).
    # moto would also try to run the mapped function in Docker on every message, consuming a
    # receive. Its per-queue/per-stream mapping tables are made write-only to switch that off.
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    for model in (Queue, Stream):
        model.lambda_event_source_mappings = property(lambda self: {}, lambda self, value: None)  # type: ignore[assignment]

    # AWS: GetRecords and PutRecord(s) on one shard may run at the same moment. moto's shard iterates
    # its record dict while another request thread appends to it ("OrderedDict mutated during
    # iteration"); one lock per process serialises the two on every shard.
    from moto.kinesis.models import Shard

    for name in ("get_records", "put_record"):
        setattr(Shard, name, _serialised(getattr(Shard, name)))
    _applied = True


_SHARD_LOCK = threading.Lock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _SHARD_LOCK:
            return method(*args, **kwargs)

    return locked
