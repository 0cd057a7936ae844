"""Player face-off stats kept up to date by results: the store port and the idempotent update.

Owns applying one face-off result to both takers' records exactly once (a result id remembered in
each record), with optimistic locking against concurrent updates. The DynamoDB store is in
`adapters/player_stats.py`; `InMemoryPlayerStats` is the same contract for tests.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from race_predictor.logic.nhl.features import PlayerFaceoffRecord, Side, rating_changes

APPLIED_MEMORY = 64  # result ids remembered per player: far more than can be in flight at once
MAX_ATTEMPTS = 6


class VersionClash(Exception):
    """The player's item changed since it was read."""


@dataclass
class StoredPlayer:
    record: PlayerFaceoffRecord
    applied: list[str] = field(default_factory=list)
    version: int = 0


class PlayerStatsStore(Protocol):
    def get_many(self, player_ids: Iterable[str]) -> dict[str, StoredPlayer]: ...

    def put(self, player: StoredPlayer) -> None: ...


class InMemoryPlayerStats:
    """PlayerStatsStore in a dict (same conditional-write semantics)."""

    def __init__(self) -> None:
        self.items: dict[str, StoredPlayer] = {}
        self.reads = 0

    def get_many(self, player_ids: Iterable[str]) -> dict[str, StoredPlayer]:
        self.reads += 1
        return {pid: copy.deepcopy(self.items[pid]) for pid in set(player_ids) if pid in self.items}

    def put(self, player: StoredPlayer) -> None:
        current = self.items.get(player.record.player_id)
        if (current.version if current else 0) != player.version:
            raise VersionClash(player.record.player_id)
        stored = copy.deepcopy(player)
        stored.version += 1
        self.items[player.record.player_id] = stored

    def load_all(self, records: Iterable[PlayerFaceoffRecord]) -> int:
        count = 0
        for record in records:
            self.items[record.player_id] = StoredPlayer(copy.deepcopy(record), [], 1)
            count += 1
        return count


def records_of(store: PlayerStatsStore, player_ids: Iterable[str]) -> dict[str, PlayerFaceoffRecord]:
    """Face-off records of the players, an empty record for a player never seen."""
    ids = list(player_ids)
    found = store.get_many(ids)
    return {pid: found[pid].record if pid in found else PlayerFaceoffRecord(player_id=pid) for pid in ids}


def apply_result(store: PlayerStatsStore, *, result_id: str, home_id: str, away_id: str, home_won: bool,
                 season: int, home_side: Side | None = None) -> bool:
    """Count one face-off for both players; return False when it had already been counted.

    Both rating changes come from the two records as read before the result (`rating_changes`),
    the same as the loader's `record_faceoff`; each is then added to its player's latest item, so a
    retry after a concurrent write neither loses nor doubles it.
    """
    before = records_of(store, [home_id, away_id])
    changes = dict(zip((home_id, away_id), rating_changes(before[home_id], before[away_id], home_won=home_won,
                                                         season=season, home_side=home_side), strict=True))
    counted = False
    for player_id, opponent_id, won in ((home_id, away_id, home_won), (away_id, home_id, not home_won)):
        for _ in range(MAX_ATTEMPTS):
            player = store.get_many([player_id]).get(player_id) or StoredPlayer(PlayerFaceoffRecord(player_id=player_id))
            if result_id in player.applied:
                break
            player.record.apply_rating(changes[player_id], season)
            player.record.record_result(won=won, opponent_id=opponent_id, season=season)
            player.applied = (player.applied + [result_id])[-APPLIED_MEMORY:]
            try:
                store.put(player)
            except VersionClash:
                continue
            counted = True
            break
        else:
            raise VersionClash(player_id)
    return counted
