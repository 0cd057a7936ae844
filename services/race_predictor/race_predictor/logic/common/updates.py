"""Read-modify-write of one race / game item with optimistic locking, and the publish outbox.

`update_with_retries` reads the item, runs a pure `mutate`, and writes back only if nobody wrote in
between; on a conflict it re-reads and re-runs `mutate` (with jittered back-off), so two concurrent
calls never lose each other's update. Events to publish are kept in the item's `outbox` and are
sent by `publish_outbox`, which claims each in the ledger first: a retried or duplicated request
finds them claimed or published and sends nothing twice. Event ids are deterministic, so even
the one unavoidable window (a call that dies after `PutEvents` and before marking the entry
published, whose claim then goes stale) yields a duplicate that consumers can drop by id.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pitwall_shared.events import Event
from race_predictor.logic.ports import PublishLedger, StateStore, Stored, VersionConflict

R = TypeVar("R")
MAX_ATTEMPTS = 8


class TooMuchContention(RuntimeError):
    """The item kept changing under us for MAX_ATTEMPTS attempts."""


@dataclass(frozen=True)
class Updated(Generic[R]):
    body: dict[str, Any]
    version: int
    result: R
    attempts: int


def update_with_retries(
    store: StateStore,
    key: str,
    mutate: Callable[[dict[str, Any] | None], tuple[dict[str, Any], R, bool]],
    *,
    expires_at: Callable[[dict[str, Any]], int | None] = lambda body: None,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> Updated[R]:
    """Apply `mutate(body) -> (new_body, result, changed)` to the item at `key` atomically.

    When `changed` is False nothing is written (a fully duplicate request costs one read).
    `expires_at(new_body)` gives the item's TTL (epoch seconds) or None.
    """
    for attempt in range(1, max_attempts + 1):
        stored: Stored = store.load(key)
        body, result, changed = mutate(stored.body)
        if not changed:
            return Updated(body, stored.version, result, attempt)
        try:
            version = store.save(key, body, stored.version, expires_at(body))
        except VersionConflict:
            # Full jitter keeps two racing calls from colliding again in lockstep.
            sleep(random.uniform(0, min(0.2, 0.01 * 2**attempt)))
            continue
        return Updated(body, version, result, attempt)
    raise TooMuchContention(f"{key}: still conflicting after {max_attempts} attempts")


@dataclass(frozen=True)
class OutboxEntry:
    """One event waiting in an item's outbox: `entry` is its ledger key inside the item."""

    entry: str
    detail_type: str
    event_id: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"entry": self.entry, "detail_type": self.detail_type, "event_id": self.event_id, "data": self.data}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OutboxEntry:
        return cls(raw["entry"], raw["detail_type"], raw["event_id"], raw["data"])


@dataclass(frozen=True)
class PublishOutcome:
    published: list[dict[str, Any]]  # details this call sent
    done: list[str]  # entries now known published (by this call or another)


def publish_outbox(
    ledger: PublishLedger,
    publisher: Any,
    key: str,
    outbox: Sequence[OutboxEntry],
    *,
    correlation_id: str | None = None,
    expires_at: int | None = None,
    now: Callable[[], float] = time.time,
) -> PublishOutcome:
    """Claim, publish and mark each outbox entry; entries another call owns are left alone.

    Raises the publisher's error after releasing nothing: the claims go stale and a later call
    (the feed's retry) publishes them.
    """
    claimed: list[OutboxEntry] = []
    done: list[str] = []
    for item in outbox:
        status = ledger.claim(key, item.entry, now())
        if status == "claimed":
            claimed.append(item)
        elif status == "published":
            done.append(item.entry)
    if not claimed:
        return PublishOutcome([], done)
    details = publisher.publish_many(
        [Event(item.detail_type, item.data, event_id=item.event_id, correlation_id=correlation_id)
         for item in claimed]
    )
    for item in claimed:
        ledger.mark_published(key, item.entry, expires_at)
        done.append(item.entry)
    return PublishOutcome(list(details), done)
