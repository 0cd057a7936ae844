"""The event contract every Pitwall service shares: the envelope, the `Event` to publish, and the
bus event as an SQS queue (a rule's target) delivers it. Pure: no boto3, no I/O.

An event is `source = "pitwall.<service>"`, a `detail-type` (the event's name, which has a JSON
Schema in `events/schemas/`), and a `detail` of the form::

    {"event_id": "...", "correlation_id": "...", "occurred_at": "2026-11-22T10:00:00.000Z",
     "schema_version": "1", "data": {...the payload...}}

Producers build that detail with `envelope(Event(...))` (through the `Envelope` model); consumers
parse it with the same model: `BusEvent.model_validate(json.loads(sqs_body))` for Pitwall events,
`AwsEvent` for events AWS puts on the bus (their detail is AWS's own shape). Sending is the
adapter `pitwall_shared.publisher.EventPublisher`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

DetailT = TypeVar("DetailT")
EventId = Annotated[str, Field(min_length=1, max_length=256)]


@dataclass(frozen=True)
class Event:
    """One event to publish: its detail-type and payload, with optional ids.

    A deterministic `event_id` (derived from what the event is about) lets consumers drop
    duplicates; without one a random id is drawn.
    """

    detail_type: str
    data: dict[str, Any]
    event_id: str | None = None
    correlation_id: str | None = None
    schema_version: str = "1"


class Envelope(BaseModel):
    """The `detail` of every Pitwall event (`events/schemas/envelope.v1.json`); consumers ignore
    fields they do not know (tolerant readers)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: EventId
    correlation_id: EventId
    occurred_at: datetime
    schema_version: Annotated[str, Field(pattern=r"^[0-9]+$")]
    data: dict[str, Any]


class _BusEvent(BaseModel, Generic[DetailT]):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    source: str
    detail_type: str = Field(alias="detail-type")
    detail: DetailT


class BusEvent(_BusEvent[Envelope]):
    """A Pitwall event as an SQS target of an EventBridge rule receives it (the message body)."""


class AwsEvent(_BusEvent[dict[str, Any]]):
    """An event whose detail is read after its `source` and `detail-type` are known: one AWS puts on
    a bus (A2I `HumanLoop Status Change`, say; its detail is AWS's shape), or the message of a queue
    that takes several kinds (human review's trigger parses a Pitwall detail with `Envelope`)."""


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def envelope(event: Event, *, now: datetime | None = None) -> dict[str, Any]:
    """Return the `detail` of `event` (JSON-ready).

    >>> detail = envelope(Event("Ping", {"n": 1}, event_id="e1", correlation_id="c1"))
    >>> detail["event_id"], detail["data"], detail["schema_version"]
    ('e1', {'n': 1}, '1')
    """
    event_id = event.event_id or str(uuid.uuid4())
    detail = Envelope(event_id=event_id, correlation_id=event.correlation_id or event_id,
                      occurred_at=now or datetime.now(UTC), schema_version=event.schema_version, data=event.data)
    # The data is passed through as the producer built it (model_dump would copy and coerce it).
    return {"event_id": detail.event_id, "correlation_id": detail.correlation_id,
            "occurred_at": _timestamp(detail.occurred_at), "schema_version": detail.schema_version,
            "data": event.data}
