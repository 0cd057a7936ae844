"""The EventBridge publisher of Pitwall events (an adapter: the only shared code that puts events).

`PutEvents` takes at most 10 entries and 256 KB per call (Amazon EventBridge quotas, PutEvents
API reference). The publisher batches within both, retries only the entries that failed, and raises
`PublishError` if some still fail, so callers can surface the failure (partial batch response,
retry, dead-letter queue) instead of losing an event. Each detail is the shared envelope
(`pitwall_shared.events.envelope`).

Example::

    publisher = EventPublisher(source="pitwall.cost_calculator", bus_name="pitwall-bus")
    publisher.publish("EndpointRightsizingRecommended", {"endpoint_name": "x", ...},
                      event_id="x-2026-11-22T10:00")
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pitwall_shared.aws import client
from pitwall_shared.events import Event, envelope

MAX_ENTRIES_PER_CALL = 10
MAX_BYTES_PER_CALL = 256 * 1024
MAX_RETRIES = 3


class PublishError(RuntimeError):
    """Some events could not be put on the bus after retries; `failed` holds their event ids."""

    def __init__(self, failed: Sequence[tuple[str, str]]) -> None:
        self.failed = list(failed)
        codes = sorted({code for _, code in failed})
        super().__init__(f"{len(failed)} event(s) not published after {MAX_RETRIES} retries: {', '.join(codes)}")


def _entry_size(entry: dict[str, Any]) -> int:
    # EventBridge counts Source, DetailType, Detail and the rest as UTF-8 bytes; this is an upper
    # bound close enough to keep every call under the quota.
    return sum(len(str(value).encode()) for value in entry.values()) + 64


def batches(entries: Sequence[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    """Split PutEvents entries into calls of at most 10 entries and 256 KB."""
    batch: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        entry_size = _entry_size(entry)
        if entry_size > MAX_BYTES_PER_CALL:
            raise ValueError(f"event {entry['DetailType']} is {entry_size} bytes, over EventBridge's 256 KB limit")
        if batch and (len(batch) == MAX_ENTRIES_PER_CALL or size + entry_size > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry_size
    if batch:
        yield batch


@dataclass
class EventPublisher:
    """Puts Pitwall events on one EventBridge bus; see the module docstring for an example."""

    source: str
    bus_name: str
    events_client: Any = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def _client(self) -> Any:
        if self.events_client is None:
            self.events_client = client("events")
        return self.events_client

    def publish(self, detail_type: str, data: dict[str, Any], *, event_id: str | None = None,
                correlation_id: str | None = None) -> dict[str, Any]:
        """Publish one event; return its detail (envelope included)."""
        return self.publish_many([Event(detail_type, data, event_id, correlation_id)])[0]

    def publish_many(self, events: Sequence[Event]) -> list[dict[str, Any]]:
        """Publish `events` in as few calls as the quotas allow; return their details in order."""
        details = [envelope(event) for event in events]
        entries = [
            {
                "Source": self.source,
                "DetailType": event.detail_type,
                "Detail": json.dumps(detail, separators=(",", ":"), default=str),
                "EventBusName": self.bus_name,
            }
            for event, detail in zip(events, details, strict=True)
        ]
        failed: list[tuple[str, str]] = []
        for batch in batches(entries):
            failed.extend(self._put_with_retries(batch))
        if failed:
            raise PublishError(failed)
        return details

    def _put_with_retries(self, batch: list[dict[str, Any]]) -> list[tuple[str, str]]:
        pending = batch
        for attempt in range(MAX_RETRIES + 1):
            response = self._client().put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return []
            # Results are positional: an entry with an ErrorCode failed, the others went through.
            results = response["Entries"]
            retry = [entry for entry, result in zip(pending, results, strict=True) if result.get("ErrorCode")]
            codes = [result["ErrorCode"] for result in results if result.get("ErrorCode")]
            if attempt == MAX_RETRIES:
                return [(json.loads(entry["Detail"])["event_id"], code)
                        for entry, code in zip(retry, codes, strict=True)]
            pending = retry
            self.sleep(min(0.05 * 2**attempt, 1.0))
        return []
