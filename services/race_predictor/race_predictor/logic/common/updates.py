"""Read-modify-write of one race / game item with optimistic locking, and the publish outbox.

`update_with_retries` reads the item, runs a pure `mutate`, and writes back only if nobody wrote in
between; on a conflict it re-reads and re-runs `mutate` (with jittered back-off), so two concurrent
calls never lose each other's update. Events to publish are kept in the item's `outbox`, added
by the same write that records them as made. Two ways to send them once:

- `publish_outbox` (NHL): claims each entry in the ledger, publishes, marks it published; the
  caller then drops the published entries from the outbox with a second write.
- `OutboxPublisher` (F1, issue 17): the state write that adds an entry is its claim; the caller
  sends it and marks it in the ledger (one batch write), and the next state write drops it, so a
  call writes its state once (its docstring has the details).

What no request publishes (a failed PutEvents, a call that died) the outbox sweeper does, on a
schedule, for F1 and NHL items alike (`sweeper.py`, issue 16 item 4).

Event ids are deterministic, so the one unavoidable window (a call that dies after `PutEvents` and
before marking the entry published, whose claim then goes stale) yields a duplicate that consumers
can drop by id.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pitwall_shared.events import Event
from race_predictor.logic.ports import STALE_CLAIM_S, PublishLedger, StateStore, Stored, VersionConflict

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
    """One event waiting in an item's outbox: `entry` is its ledger key inside the item.

    `created_at` is when the call that made it wrote it (its claim: see `OutboxPublisher`); `keep`
    is a record the ledger keeps with the entry once published (a closed F1 battle, for the views).
    """

    entry: str
    detail_type: str
    event_id: str
    data: dict[str, Any]
    created_at: float = 0.0
    keep: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        raw = {"entry": self.entry, "detail_type": self.detail_type, "event_id": self.event_id, "data": self.data,
               "at": self.created_at}
        if self.keep is not None:
            raw["keep"] = self.keep
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OutboxEntry:
        # An entry written before `at` existed counts as old: whoever sees it may claim it.
        return cls(raw["entry"], raw["detail_type"], raw["event_id"], raw["data"], float(raw.get("at", 0.0)),
                   raw.get("keep"))


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


@dataclass(frozen=True)
class OutboxLook:
    """What the ledger says of an outbox's entries: published ones, and claims with their time."""

    published: frozenset[str]
    claimed_at: dict[str, float]

    def remaining(self, outbox: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        return [item for item in outbox if item.entry not in self.published]


KNOWN_KEYS = 256  # races / games whose published entries a process remembers


@dataclass
class OutboxPublisher:
    """Publishes an item's outbox once, with one ledger write per event and no second state write.

    The conditional state write that adds an entry is its first claim: the call that made it sends
    it straight away (no ledger claim) and then marks it published in the ledger (one batch write
    for the call). Every later reader of the item asks the ledger about the entries it finds (one
    batch read, skipped for entries this process saw published) and, in its own state write, drops
    the published ones: the outbox is cleared by the next write, never by a write of its own. An
    entry nobody marked within `STALE_CLAIM_S` of its creation or claim (its publish failed, or its
    caller died) is claimed in the ledger (conditional put: one taker) by the next call that finds
    it, and sent. When EventBridge refuses events (PublishError) the claims this call took for
    them are released, so the next taker (the outbox sweeper, `sweeper.py`) need not wait out
    STALE_CLAIM_S. Event ids are deterministic: the one window left (death
    after PutEvents, before marking) gives a duplicate a consumer drops by id.
    """

    ledger: PublishLedger
    publisher: Any
    now: Callable[[], float] = time.time
    # entries this process saw published, per key (a few races' worth; calls may run in threads)
    known: OrderedDict[str, set[str]] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def look(self, key: str, outbox: Sequence[OutboxEntry]) -> OutboxLook:
        """The ledger's view of `outbox` (one batch read of the entries not known published here)."""
        with self._lock:
            known = set(self.known.get(key, ()))
        unknown = [item.entry for item in outbox if item.entry not in known]
        statuses = self.ledger.statuses(key, unknown) if unknown else {}
        published = {item.entry for item in outbox if item.entry in known}
        published |= {entry for entry, (status, _) in statuses.items() if status == "published"}
        claimed = {entry: at for entry, (status, at) in statuses.items() if status == "claimed"}
        return OutboxLook(frozenset(published), claimed)

    def forget(self, key: str, outbox: Sequence[OutboxEntry]) -> None:
        """What this process remembers of `key` shrinks to the entries still in its outbox."""
        with self._lock:
            if key in self.known:
                self.known[key] &= {item.entry for item in outbox}

    def send(self, key: str, outbox: Sequence[OutboxEntry], look: OutboxLook, *, created: Iterable[str] = (),
             correlation_id: str | None = None, expires_at: int | None = None) -> PublishOutcome:
        """Publish what this caller may: the entries it `created`, and the others nobody published
        or claimed within STALE_CLAIM_S (after claiming them). Raises the publisher's error once the
        entries that did go out are marked; the rest wait for a later call."""
        mine = set(created)
        now = self.now()
        claimed: list[str] = []  # entries this call claimed in the ledger (at `now`)
        to_send: list[OutboxEntry] = []
        done = [item.entry for item in outbox if item.entry in look.published]
        for item in outbox:
            if item.entry in look.published:
                continue
            if item.entry in mine:
                to_send.append(item)
                continue
            since = look.claimed_at.get(item.entry, item.created_at)
            if now - since < STALE_CLAIM_S:
                continue  # its creator or claimer is still within its time: not ours
            status = self.ledger.claim(key, item.entry, now)
            if status == "claimed":
                to_send.append(item)
                claimed.append(item.entry)
            elif status == "published":
                done.append(item.entry)
        if not to_send:
            return PublishOutcome([], done)
        events = [Event(item.detail_type, item.data, event_id=item.event_id, correlation_id=correlation_id)
                  for item in to_send]
        try:
            details = list(self.publisher.publish_many(events))
        except Exception as error:
            failed = {event_id for event_id, _ in getattr(error, "failed", None) or []}
            if failed:  # EventBridge refused these (PublishError): mark the others, free these claims
                sent = [item for item in to_send if item.event_id not in failed]
                self._mark(key, sent, expires_at)
                refused = [item.entry for item in to_send if item.event_id in failed and item.entry in claimed]
                if refused:  # (not for an error of unknown outcome: those claims wait STALE_CLAIM_S)
                    self.ledger.release(key, [(entry, now) for entry in refused])
            raise
        self._mark(key, to_send, expires_at)
        return PublishOutcome(details, done + [item.entry for item in to_send])

    def _mark(self, key: str, sent: Sequence[OutboxEntry], expires_at: int | None) -> None:
        if not sent:
            return
        self.ledger.mark_published_many(key, [(item.entry, item.keep) for item in sent], expires_at)
        with self._lock:
            self.known.setdefault(key, set()).update(item.entry for item in sent)
            self.known.move_to_end(key)
            while len(self.known) > KNOWN_KEYS:
                self.known.popitem(last=False)
