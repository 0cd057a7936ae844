"""The few places where moto's CloudFormation differs from AWS in ways our template relies on.

Each patch names the AWS behaviour it restores. They are applied in the process that runs moto
(the local cloud, or a test using `mock_aws`) before a stack is created.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
import uuid
from collections.abc import Callable
from typing import Any

_applied = False
# Who answers a custom resource's Create (see local/custom_resources.py); None: moto's own Docker path.
_custom_resource_handler: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None


def set_custom_resource_handler(handler: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None) -> None:
    """Route custom resources of stacks created from now on to `handler(function, event) -> answer`."""
    global _custom_resource_handler
    _custom_resource_handler = handler


def apply() -> None:
    """Apply every patch once."""
    global _applied
    if _applied:
        return
    from moto.events.models import EventBus, Rule

    # AWS: `Ref` of an AWS::Events::EventBus returns the bus name. moto's model has no
    # physical_resource_id, so its parser would hand the Python object to the referencing resource.
    if not hasattr(EventBus, "physical_resource_id"):
        EventBus.physical_resource_id = property(lambda self: self.name)  # type: ignore[attr-defined]
    # AWS: a scheduled rule (ScheduleExpression, no EventPattern) is started by its schedule and
    # matches no event put on its bus. moto matches it against every event and then fails the whole
    # PutEvents (a 500) on its Lambda target. The local runner fires schedules (local/runner/sources/schedule.py).
    Rule.send_to_targets = _not_for_scheduled(Rule.send_to_targets)  # type: ignore[method-assign]
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

    # AWS: reading from an iterator costs the records read, not the records the shard holds. moto
    # scans the shard from its first record on every GetRecords and lists every key on every
    # PutRecord, so a local cloud left running slows down as its streams fill. A shard's sequence
    # numbers are consecutive (moto numbers each record last + 1): read on from the position.
    Shard.get_max_sequence_number = lambda self: next(reversed(self.records), 0)  # type: ignore[method-assign]
    Shard.get_min_sequence_number = lambda self: next(iter(self.records), 0)  # type: ignore[method-assign]
    Shard.get_records = _read_on(Shard.get_records)  # type: ignore[method-assign]
    for name in ("get_records", "put_record"):
        setattr(Shard, name, _serialised(getattr(Shard, name)))

    # AWS: a TransactWriteItems that fails changes nothing; its cost does not depend on table size.
    # moto rolls back by deep-copying every table a transaction names before it runs: time and
    # memory per transaction grow with the table (the usage table gains an item per event, so a
    # soak slows down quadratically and leaves gigabytes of cyclic garbage), and restoring a whole
    # table would also undo other requests' writes made meanwhile. Instead, only the items the
    # transaction names are saved, and restored if it fails.
    import moto.dynamodb.models as dynamodb_models

    # AWS: CloudFormation invokes a custom resource's function, waits for its answer and gives the
    # stack's later resources the answer's Data (`!GetAtt Resource.Attr`). moto runs the function in
    # Docker on a thread and resolves later references before any answer exists (to nothing). The
    # local cloud runs the function itself, synchronously, before moto creates what depends on it.
    from moto.cloudformation.custom_model import CustomModel

    CustomModel.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign, assignment]
        _custom_create(CustomModel.create_from_cloudformation_json.__func__))  # type: ignore[attr-defined]

    dynamodb_models.copy = _TABLES_NOT_COPIED  # type: ignore[assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = _undo_named_items(  # type: ignore[method-assign]
        dynamodb_models.DynamoDBBackend.transact_write_items)
    _applied = True


def _not_for_scheduled(send: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(send)
    def send_to_targets(rule: Any, event: Any, *args: Any, **kwargs: Any) -> None:
        if getattr(rule, "scheduled_expression", None) and not rule.event_pattern.get_pattern():
            return
        return send(rule, event, *args, **kwargs)

    return send_to_targets


def _custom_create(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(cls: Any, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        handler = _custom_resource_handler
        if handler is None:
            return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        from moto.awslambda.utils import get_backend
        from moto.cloudformation import cloudformation_backends

        properties = cloudformation_json["Properties"]
        fn = get_backend(account_id, region_name).get_function(properties["ServiceToken"])
        function = {"logical_id": getattr(fn, "logical_resource_id", fn.function_name),
                    "function_name": fn.function_name, "function_arn": fn.function_arn, "handler": fn.handler,
                    "environment": dict(fn.environment_vars or {}), "timeout": fn.timeout, "memory_size": fn.memory_size}
        request_id = str(uuid.uuid4())
        event = {"RequestType": "Create", "ServiceToken": properties["ServiceToken"], "StackId": kwargs["StackId"],
                 "RequestId": request_id, "LogicalResourceId": kwargs["LogicalId"],
                 "ResourceType": kwargs["ResourceType"], "ResourceProperties": properties}
        answer = handler(function, event)  # raises when the function failed or answered FAILED
        resource = cls(region_name, request_id, kwargs["LogicalId"], answer["PhysicalResourceId"])
        resource.set_data(answer.get("Data") or {})
        cloudformation_backends[account_id][region_name].get_stack(kwargs["StackId"]).add_custom_resource(resource)
        return resource

    return create


def _read_on(scan: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(scan)
    def get_records(shard: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
        position, records = int(last_sequence_id), shard.records
        if not records or position >= next(reversed(records)):
            return [], position, 0
        if position + 1 not in records:
            return scan(shard, last_sequence_id, limit)  # a position moto did not number: its own scan
        found: list[Any] = []
        while position + 1 in records and (limit is None or len(found) < limit):
            position += 1
            found.append(records[position])
        newest = records[next(reversed(records))]
        return found, position, int((newest.created_at - found[-1].created_at) * 1000)

    return get_records


def _deepcopy_except_tables(value: Any, memo: dict[int, Any] | None = None) -> Any:
    from moto.dynamodb.models.table import Table

    return value if isinstance(value, Table) else copy.deepcopy(value, memo)


# Stands in for the `copy` module inside moto.dynamodb.models, whose only deep copy of a Table is
# the transaction snapshot replaced by `_undo_named_items`; items are still deep-copied as before.
_TABLES_NOT_COPIED = types.SimpleNamespace(deepcopy=_deepcopy_except_tables, copy=copy.copy)


def _undo_named_items(transact: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(transact)
    def with_undo(backend: Any, transact_items: list[dict[str, Any]]) -> Any:
        saved = []
        for entry in transact_items:
            if len(entry) != 1:
                continue  # moto refuses the request itself
            ((op_type, op),) = entry.items()
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            attributes = op.get("Item" if op_type == "Put" else "Key") or {}
            key = {name: attributes[name] for name in (table.hash_key_attr, table.range_key_attr)
                   if name is not None and name in attributes}
            try:
                hash_key, range_key = backend.get_keys_value(table, key)
            except Exception:  # noqa: BLE001, S112 - an invalid key: moto refuses the request itself
                continue
            saved.append((table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key))))
        try:
            return transact(backend, transact_items)
        except Exception:
            for table, hash_key, range_key, old in reversed(saved):
                _restore(table, hash_key, range_key, old)
            raise

    return with_undo


def _restore(table: Any, hash_key: Any, range_key: Any, old: Any) -> None:
    if range_key is None:
        if old is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = old
    elif old is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = old


_SHARD_LOCK = threading.Lock()


def _serialised(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _SHARD_LOCK:
            return method(*args, **kwargs)

    return locked
