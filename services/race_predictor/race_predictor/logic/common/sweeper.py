"""The outbox sweeper (issue 16 item 4): publishes outbox entries that no request will publish.

A call that makes a prediction publishes it itself (`OutboxPublisher`, `publish_outbox`). When that
publish fails (EventBridge down, throttled) or the call dies, the entry stays in its item's outbox
and, until now, waited for the next request of the same race or game: after the last POST of a
race, for ever. The sweeper runs on a schedule (`OutboxSweeperFunction`, every minute): it lists
the items whose outbox holds entries (`StateStore.pending`, a sparse index, no scan), and for each
publishes the entries nobody published or claimed within `STALE_CLAIM_S`, after claiming them in
the ledger, exactly as a later request would (one taker per entry: the ledger's conditional put).
Then it drops the published entries from the item with a conditional write at the version it
read; if a request wrote in between, that request (or the next sweep) drops them instead.

F1 and NHL items share the table, the outbox shape and the ledger, so one sweep covers both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from race_predictor.logic.common.updates import OutboxEntry, OutboxPublisher
from race_predictor.logic.ports import StateStore, VersionConflict

SWEEP_LIMIT = 200  # items per sweep; the rest wait for the next one (a minute later)


@dataclass
class SweepReport:
    """What one sweep did: items visited, events it published, items it failed to publish for."""

    visited: int = 0
    published: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # keys whose publish raised (left for the next sweep)
    cleared: int = 0  # outbox entries dropped from their items
    waiting: int = 0  # entries still within their creator's or claimer's time


@dataclass
class OutboxSweeper:
    store: StateStore
    outbox: OutboxPublisher
    now: Callable[[], float] = time.time
    on_error: Callable[[str, Exception], None] = lambda key, error: None

    def sweep(self, limit: int = SWEEP_LIMIT) -> SweepReport:
        report = SweepReport()
        for key in self.store.pending(limit):
            report.visited += 1
            self._sweep_item(key, report)
        return report

    def _sweep_item(self, key: str, report: SweepReport) -> None:
        stored = self.store.load(key)
        if not stored.body:
            return
        entries = [OutboxEntry.from_json(raw) for raw in stored.body.get("outbox", [])]
        if not entries:
            return  # the index is eventually consistent: already cleared
        look = self.outbox.look(key, entries)
        done = set(look.published)
        try:
            outcome = self.outbox.send(key, entries, look, expires_at=stored.expires_at)
        except Exception as error:  # noqa: BLE001 - one item's failure must not stop the sweep
            report.failed.append(key)
            self.on_error(key, error)
        else:
            report.published += outcome.published
            done |= set(outcome.done)
        report.waiting += sum(1 for entry in entries if entry.entry not in done)
        if not done:
            return
        body = dict(stored.body)
        body["outbox"] = [raw for raw in stored.body["outbox"] if raw["entry"] not in done]
        try:
            self.store.save(key, body, stored.version, stored.expires_at)
        except VersionConflict:
            return  # a request wrote meanwhile: its own look drops them from the outbox
        report.cleared += len(stored.body["outbox"]) - len(body["outbox"])
