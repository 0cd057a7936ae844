"""The ports the predictors' logic talks through: a versioned state store and a publish ledger.

The DynamoDB implementations live in `adapters/dynamodb.py`; `InMemoryStateStore` and `InMemoryLedger`
are the same contracts in a dict, for unit tests and for running the logic without AWS.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

ClaimResult = Literal["claimed", "published", "busy"]

# A claim not turned into "published" within this many seconds is taken to belong to a call that
# died between claiming and publishing; another call may then claim it again.
STALE_CLAIM_S = 30.0


class VersionConflict(Exception):
    """Another call wrote the item since it was read (optimistic locking)."""


@dataclass(frozen=True)
class Stored:
    """An item body (already decoded), the version it was read at (0 = absent) and its TTL."""

    body: dict[str, Any] | None
    version: int
    expires_at: int | None = None


def has_outbox(body: dict[str, Any] | None) -> bool:
    """Whether an item body holds outbox entries (such an item is listed by `StateStore.pending`)."""
    return bool(body and body.get("outbox"))


class StateStore(Protocol):
    def load(self, key: str) -> Stored: ...

    def save(self, key: str, body: dict[str, Any], expected_version: int, expires_at: int | None) -> int:
        """Write `body` if the item is still at `expected_version`; return the new version or raise
        VersionConflict."""
        ...

    def pending(self, limit: int) -> list[str]:
        """Keys of (up to `limit`) items whose outbox holds entries: what the outbox sweeper visits.
        No scan: the store indexes exactly the items with a non-empty outbox."""
        ...


class PublishLedger(Protocol):
    def claim(self, key: str, entry: str, now: float) -> ClaimResult: ...

    def mark_published(self, key: str, entry: str, expires_at: int | None) -> None: ...

    def release(self, key: str, entries: Sequence[tuple[str, float]]) -> None:
        """Give up the claims (entry, claimed_at) this caller took, when EventBridge refused the
        events: the next taker need not wait STALE_CLAIM_S. A claim taken since by another is kept."""
        ...

    def statuses(self, key: str, entries: Sequence[str]) -> dict[str, tuple[str, float]]:
        """entry -> (status, claimed_at) of the entries the ledger holds (absent ones left out)."""
        ...

    def mark_published_many(self, key: str, entries: Sequence[tuple[str, dict[str, Any] | None]],
                            expires_at: int | None) -> None:
        """Mark each (entry, keep) published; `keep` (if not None) is a record kept with it."""
        ...

    def kept(self, key: str) -> list[dict[str, Any]]:
        """The records kept with `key`'s published entries (the F1 closed battles), in entry order."""
        ...


class InMemoryStateStore:
    """A StateStore in a dict, with the same conditional-write semantics (thread-safe)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[int, dict[str, Any]]] = {}
        self.ttls: dict[str, int | None] = {}
        self.writes = 0
        self._lock = threading.Lock()

    def load(self, key: str) -> Stored:
        with self._lock:
            if key not in self.items:
                return Stored(None, 0)
            version, body = self.items[key]
            return Stored(copy.deepcopy(body), version, self.ttls.get(key))

    def save(self, key: str, body: dict[str, Any], expected_version: int, expires_at: int | None) -> int:
        with self._lock:
            current = self.items.get(key, (0, {}))[0]
            if current != expected_version:
                raise VersionConflict(key)
            self.items[key] = (expected_version + 1, copy.deepcopy(body))
            self.ttls[key] = expires_at
            self.writes += 1
            return expected_version + 1

    def pending(self, limit: int) -> list[str]:
        with self._lock:
            return [key for key, (_, body) in sorted(self.items.items()) if has_outbox(body)][:limit]


class InMemoryLedger:
    """A PublishLedger in a dict (thread-safe)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[str, float]] = {}
        self.keeps: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, entry: str, now: float) -> ClaimResult:
        with self._lock:
            current = self.entries.get((key, entry))
            if current is not None:
                status, claimed_at = current
                if status == "published":
                    return "published"
                if now - claimed_at < STALE_CLAIM_S:
                    return "busy"
            self.entries[(key, entry)] = ("claimed", now)
            return "claimed"

    def mark_published(self, key: str, entry: str, expires_at: int | None) -> None:
        with self._lock:
            self.entries[(key, entry)] = ("published", 0.0)

    def release(self, key: str, entries: Sequence[tuple[str, float]]) -> None:
        with self._lock:
            for entry, claimed_at in entries:
                if self.entries.get((key, entry)) == ("claimed", claimed_at):
                    del self.entries[(key, entry)]

    def statuses(self, key: str, entries: Sequence[str]) -> dict[str, tuple[str, float]]:
        with self._lock:
            return {entry: self.entries[(key, entry)] for entry in entries if (key, entry) in self.entries}

    def mark_published_many(self, key: str, entries: Sequence[tuple[str, dict[str, Any] | None]],
                            expires_at: int | None) -> None:
        with self._lock:
            for entry, keep in entries:
                self.entries[(key, entry)] = ("published", 0.0)
                if keep is not None:
                    self.keeps[(key, entry)] = copy.deepcopy(keep)

    def kept(self, key: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(keep) for (k, entry), keep in sorted(self.keeps.items()) if k == key]
