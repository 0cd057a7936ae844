"""DynamoDB item sizes and the capacity units each request would consume in AWS, metered on the
local cloud's moto (which runs in this process and reports a flat 0.5 / 1.0 unit per call).

Item size, from AWS's "DynamoDB item sizes and formats"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
the sum of attribute names and values; a string its UTF-8 bytes; a number about 1 byte per two
significant digits + 1; a binary its raw bytes; null / boolean 1 byte; a list or map 3 bytes of
overhead + 1 byte per element + its elements (map keys counted like attribute names).

Units, from "DynamoDB read and write operations"
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html):
a strongly consistent read costs 1 RCU per 4 KB (rounded up; half for eventually consistent, twice
in a transaction), `BatchGetItem` rounds each item, `Query` rounds the sum of the items read; a
write costs 1 WCU per 1 KB (rounded up) of the larger of the item before and after (`PutItem`,
`UpdateItem`; the deleted item for `DeleteItem`), twice in `TransactWriteItems`. A write whose
condition fails still consumes units, on the size of the existing item, at least 1 ("Working with
items", conditional writes:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html). A write to an item a global secondary index holds also
writes the index entry (its keys and projected attributes + 100 bytes of overhead), 1 WCU per KB,
twice when the index key changes (old entry deleted, new one put); KEYS_ONLY is assumed.

`CapacityMeter` wraps moto's DynamoDB request handlers (as tests/hardening/faults.py does for
faults) and records one `Consumed` per request on the tables it watches.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
READ_UNIT_BYTES = 4 * KB
WRITE_UNIT_BYTES = 1 * KB
GSI_ENTRY_OVERHEAD = 100


def _number_size(text: str) -> int:
    digits = len(Decimal(text).normalize().as_tuple().digits)  # significant digits, zeroes trimmed
    return math.ceil(digits / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """Size in bytes of one attribute value in DynamoDB JSON (`{"S": "..."}`, `{"M": {...}}`, ...)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(_b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) if isinstance(b, bytes | bytearray) else len(_b64decode(b)) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def _b64decode(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def item_size(item: dict[str, dict[str, Any]] | None) -> int:
    """Size in bytes of an item in DynamoDB JSON (0 for no item)."""
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool = True) -> float:
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    return float(units if consistent else units / 2)


def write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_UNIT_BYTES)))


@dataclass(frozen=True)
class Consumed:
    """What one request costs in AWS: capacity units and the sizes of the items it wrote."""

    operation: str
    tables: tuple[str, ...]
    rcu: float = 0.0
    wcu: float = 0.0
    written: tuple[tuple[str, str, int], ...] = ()  # (pk, sk, size after the write) per item written


@dataclass
class CapacityMeter:
    """Records the capacity of every DynamoDB request on `tables` (all tables when empty) while on."""

    tables: tuple[str, ...] = ()
    records: list[Consumed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def watches(self, name: str) -> bool:
        return not self.tables or name in self.tables

    def mark(self) -> int:
        """A position in `records`; `since(mark)` gives what came after it."""
        with self._lock:
            return len(self.records)

    def since(self, position: int) -> list[Consumed]:
        with self._lock:
            return list(self.records[position:])

    def add(self, record: Consumed) -> None:
        if any(self.watches(t) for t in record.tables):
            with self._lock:
                self.records.append(record)

    @contextmanager
    def metering(self) -> Iterator[CapacityMeter]:
        from moto.dynamodb import responses as dynamodb_responses

        handler = dynamodb_responses.DynamoHandler
        originals = {name: getattr(handler, name) for name in _METERS}
        for name, original in originals.items():
            setattr(handler, name, _metered(self, name, original))
        try:
            yield self
        finally:
            for name, original in originals.items():
                setattr(handler, name, original)


# --- the meters: one per moto DynamoHandler method ---------------------------------------------------
def _stored(backend: Any, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        item = backend.get_item(table_name, key)
    except Exception:  # noqa: BLE001 - a bad key: moto answers the request with its own error
        return None
    return None if item is None else item.to_json()["Attributes"]  # type: ignore[no-any-return]


def _key_of(backend: Any, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = backend.get_table(table_name)
    return {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name and name in item}


def _ids(item: dict[str, Any] | None, key: dict[str, Any]) -> tuple[str, str]:
    source = item or key
    pk, sk = source.get("pk", {}), source.get("sk", {})
    return str(next(iter(pk.values()), "")), str(next(iter(sk.values()), ""))


def _index_units(backend: Any, table_name: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> float:
    """WCU of the global secondary index entries this write touches (KEYS_ONLY projection)."""
    table = backend.get_table(table_name)
    units = 0.0
    for index in table.global_indexes or []:
        names = [part["AttributeName"] for part in index.schema]
        keys = [n for n in (table.hash_key_attr, table.range_key_attr) if n]

        def entry(item: dict[str, Any] | None, names: list[str] = names, keys: list[str] = keys) -> dict[str, Any] | None:
            if not item or any(n not in item for n in names):
                return None
            return {n: item[n] for n in {*names, *keys}}

        old, new = entry(before), entry(after)
        if old is None and new is None:
            continue
        if old is not None and new is not None and old == new:
            continue  # keys-only entry unchanged: no index write
        for present in (old, new):
            if present is not None:
                units += write_units(item_size(present) + GSI_ENTRY_OVERHEAD)
    return units


def _write(backend: Any, table_name: str, key: dict[str, Any], action: Callable[[], Any],
           factor: float = 1.0) -> tuple[Any, float, tuple[str, str, int], BaseException | None]:
    before = _stored(backend, table_name, key)
    error: BaseException | None = None
    result = None
    try:
        result = action()
    except Exception as failed:  # noqa: BLE001 - re-raised by the caller after metering
        error = failed
    after = _stored(backend, table_name, key)
    # A failed condition is charged on the existing item (or 1 WCU), not on the one refused.
    size = item_size(before) if error is not None else max(item_size(before), item_size(after))
    units = write_units(size) * factor + _index_units(backend, table_name, before, after)
    pk, sk = _ids(after or before, key)
    return result, units, (pk, sk, item_size(after)), error


def _metered(meter: CapacityMeter, name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(handler: Any) -> Any:
        body = handler.body if isinstance(handler.body, dict) else json.loads(handler.body or "{}")
        backend = handler.dynamodb_backend
        return _METERS[name](meter, backend, body, lambda: original(handler))

    wrapped.__name__ = name
    return wrapped


def _answer(result: Any) -> dict[str, Any]:
    """The answer's body: moto 5 returns an ActionResult (`.result`), older versions a JSON string."""
    body = getattr(result, "result", result)
    if isinstance(body, str | bytes):
        body = json.loads(body or "{}")
    return body if isinstance(body, dict) else {}


def _get_item(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
    result = call()
    item = _answer(result).get("Item")
    meter.add(Consumed("GetItem", (body["TableName"],),
                       rcu=read_units(item_size(item), bool(body.get("ConsistentRead")))))
    return result


def _single_write(operation: str) -> Callable[..., Any]:
    def meter_write(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
        table = body["TableName"]
        key = body.get("Key") or _key_of(backend, table, body.get("Item", {}))
        result, units, written, error = _write(backend, table, key, call)
        meter.add(Consumed(operation, (table,), wcu=units, written=(written,)))
        if error is not None:
            raise error
        return result

    return meter_write


def _batch_get(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
    result = call()
    answer = _answer(result)
    for table, request in body.get("RequestItems", {}).items():
        items = answer.get("Responses", {}).get(table, [])
        consistent = bool(request.get("ConsistentRead"))
        meter.add(Consumed("BatchGetItem", (table,), rcu=sum(read_units(item_size(i), consistent) for i in items)))
    return result


def _batch_write(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
    plans = []
    for table, requests in body.get("RequestItems", {}).items():
        for request in requests:
            if "PutRequest" in request:
                key = _key_of(backend, table, request["PutRequest"]["Item"])
            else:
                key = request["DeleteRequest"]["Key"]
            plans.append((table, key, _stored(backend, table, key)))
    result = call()
    by_table: dict[str, tuple[float, list[tuple[str, str, int]]]] = {}
    for table, key, before in plans:
        after = _stored(backend, table, key)
        units, written = by_table.get(table, (0.0, []))
        units += write_units(max(item_size(before), item_size(after))) + _index_units(backend, table, before, after)
        written.append((*_ids(after or before, key), item_size(after)))
        by_table[table] = (units, written)
    for table, (units, written) in by_table.items():
        meter.add(Consumed("BatchWriteItem", (table,), wcu=units, written=tuple(written)))
    return result


def _transact_write(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
    plans = []
    for entry in body.get("TransactItems", []):
        ((kind, op),) = entry.items()
        table = op["TableName"]
        key = op.get("Key") or _key_of(backend, table, op.get("Item", {}))
        plans.append((kind, table, key, _stored(backend, table, key)))
    error: BaseException | None = None
    result = None
    try:
        result = call()
    except Exception as failed:  # noqa: BLE001 - re-raised after metering
        error = failed
    units, written, tables = 0.0, [], []
    for kind, table, key, before in plans:
        after = _stored(backend, table, key)
        units += 2 * write_units(max(item_size(before), item_size(after)))
        if kind != "ConditionCheck":
            units += _index_units(backend, table, before, after)
            written.append((*_ids(after or before, key), item_size(after)))
        tables.append(table)
    meter.add(Consumed("TransactWriteItems", tuple(tables), wcu=units, written=tuple(written)))
    if error is not None:
        raise error
    return result


def _query(meter: CapacityMeter, backend: Any, body: dict[str, Any], call: Callable[[], Any]) -> Any:
    result = call()
    answer = _answer(result)
    size = sum(item_size(i) for i in answer.get("Items", []))
    consistent = bool(body.get("ConsistentRead")) and not body.get("IndexName")
    meter.add(Consumed("Query", (body["TableName"],), rcu=read_units(size, consistent)))
    return result


_METERS: dict[str, Callable[..., Any]] = {
    "get_item": _get_item,
    "put_item": _single_write("PutItem"),
    "update_item": _single_write("UpdateItem"),
    "delete_item": _single_write("DeleteItem"),
    "batch_get_item": _batch_get,
    "batch_write_item": _batch_write,
    "transact_write_items": _transact_write,
    "query": _query,
}
