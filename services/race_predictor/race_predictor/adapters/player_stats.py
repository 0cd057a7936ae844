"""The player-stats DynamoDB table: one item per player, his face-off record as JSON.

Key: `player_id` (S). Attributes: `record` (S, JSON of `PlayerFaceoffRecord`), `version` (N) for
optimistic locking, `applied` (SS-like list in the JSON) of the last result ids, so that a result
delivered twice is counted once. Reads use BatchGetItem (one call for every taker of a batch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pitwall_shared.aws import DynamoTableAdapter, conditional_check_failed
from race_predictor.logic.nhl.features import PlayerFaceoffRecord
from race_predictor.logic.nhl.stats import StoredPlayer, VersionClash

BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem quota
BATCH_WRITE_LIMIT = 25  # DynamoDB BatchWriteItem quota


class DynamoPlayerStats(DynamoTableAdapter):
    """PlayerStatsStore over DynamoDB (see the module docstring for the item layout)."""

    def get_many(self, player_ids: Iterable[str]) -> dict[str, StoredPlayer]:
        wanted = sorted(set(player_ids))
        found: dict[str, StoredPlayer] = {}
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [{"player_id": {"S": pid}} for pid in wanted[start:start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    body = json.loads(item["record"]["S"])
                    found[item["player_id"]["S"]] = StoredPlayer(
                        PlayerFaceoffRecord.model_validate(body["record"]), body.get("applied", []),
                        int(item["version"]["N"]))
                request = response.get("UnprocessedKeys") or {}
        return found

    def put(self, player: StoredPlayer) -> None:
        """Write `player` if the item is still at `player.version` (0 = absent)."""
        item = {"player_id": {"S": player.record.player_id}, "version": {"N": str(player.version + 1)},
                "record": {"S": json.dumps({"record": player.record.model_dump(), "applied": player.applied},
                                           separators=(",", ":"))}}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": item}
        if player.version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(player_id)"
        else:
            kwargs["ConditionExpression"] = "version = :v"
            kwargs["ExpressionAttributeValues"] = {":v": {"N": str(player.version)}}
        try:
            self.dynamodb.put_item(**kwargs)
        except Exception as error:
            if conditional_check_failed(error):
                raise VersionClash(player.record.player_id) from None
            raise

    def load_all(self, records: Iterable[PlayerFaceoffRecord]) -> int:
        """Bulk load (the loader command): overwrite items unconditionally, 25 per call."""
        written = 0
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            pending: dict[str, Any] = {self.table_name: batch}
            while pending:
                response = self.dynamodb.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}

        for record in records:
            body = json.dumps({"record": record.model_dump(), "applied": []}, separators=(",", ":"))
            batch.append({"PutRequest": {"Item": {"player_id": {"S": record.player_id}, "version": {"N": "1"},
                                                  "record": {"S": body}}}})
            if len(batch) == BATCH_WRITE_LIMIT:
                flush()
                written += len(batch)
                batch = []
        if batch:
            flush()
            written += len(batch)
        return written
