"""DynamoDB implementations of the state store and the publish ledger, in one table.

Key design (see the service README): partition key `pk` = "<SPORT>#<race or game id>", sort key
`sk` = "STATE" for the one state item, "PUB#<entry>" for each ledger entry. The state body is
zlib-compressed JSON in a binary attribute, written with a conditional put on `version`; every
item carries `expires_at` (epoch seconds) for DynamoDB TTL. A state item whose outbox holds entries
also carries `outbox_shard` = "OUTBOX", the key of the sparse index `OutboxIndex` (KEYS_ONLY) the
outbox sweeper queries: the index holds exactly the items with something left to publish.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Sequence
from typing import Any

from pitwall_shared.aws import DynamoTableAdapter, conditional_check_failed
from race_predictor.logic.ports import STALE_CLAIM_S, ClaimResult, Stored, VersionConflict, has_outbox

STATE_SK = "STATE"
LEDGER_PREFIX = "PUB#"
BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
BATCH_ATTEMPTS = 5
OUTBOX_INDEX = "OutboxIndex"  # template.yaml, RaceStateTable
OUTBOX_SHARD = "OUTBOX"


def encode_body(body: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(body, separators=(",", ":")).encode(), 6)


def decode_body(blob: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(blob))  # type: ignore[no-any-return]


class DynamoStateStore(DynamoTableAdapter):
    """StateStore over one DynamoDB table (strongly consistent reads, conditional puts)."""

    def load(self, key: str) -> Stored:
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"pk": {"S": key}, "sk": {"S": STATE_SK}}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return Stored(None, 0)
        expires_at = int(item["expires_at"]["N"]) if "expires_at" in item else None
        return Stored(decode_body(item["state"]["B"]), int(item["version"]["N"]), expires_at)

    def save(self, key: str, body: dict[str, Any], expected_version: int, expires_at: int | None) -> int:
        version = expected_version + 1
        item: dict[str, Any] = {
            "pk": {"S": key},
            "sk": {"S": STATE_SK},
            "version": {"N": str(version)},
            "state": {"B": encode_body(body)},
        }
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        if has_outbox(body):
            # In the sparse OutboxIndex while something waits to be published. The index entry is
            # written only when the outbox turns non-empty or empty (KEYS_ONLY, key unchanged
            # otherwise), so a race publishing every lap pays no index write per POST.
            item["outbox_shard"] = {"S": OUTBOX_SHARD}
        if expected_version == 0:
            condition, values = "attribute_not_exists(pk)", None
        else:
            condition, values = "version = :expected", {":expected": {"N": str(expected_version)}}
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": item, "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self.dynamodb.put_item(**kwargs)
        except Exception as error:
            if conditional_check_failed(error):
                raise VersionConflict(key) from None
            raise
        return version

    def pending(self, limit: int) -> list[str]:
        """Keys of items with a non-empty outbox: a Query of the sparse OutboxIndex (eventually
        consistent, as every index read is: the sweeper reads each item strongly before acting)."""
        keys: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": OUTBOX_INDEX,
            "KeyConditionExpression": "outbox_shard = :shard",
            "ExpressionAttributeValues": {":shard": {"S": OUTBOX_SHARD}}, "ProjectionExpression": "pk, sk",
        }
        while len(keys) < limit:
            response = self.dynamodb.query(**kwargs, Limit=limit - len(keys))
            keys += [item["pk"]["S"] for item in response.get("Items", []) if item["sk"]["S"] == STATE_SK]
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return keys


class DynamoPublishLedger(DynamoTableAdapter):
    """PublishLedger over the same table: one small item per event, claimed by a conditional put."""

    def _key(self, key: str, entry: str) -> dict[str, Any]:
        return {"pk": {"S": key}, "sk": {"S": LEDGER_PREFIX + entry}}

    def claim(self, key: str, entry: str, now: float) -> ClaimResult:
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={**self._key(key, entry), "status": {"S": "claimed"}, "claimed_at": {"N": f"{now:.3f}"}},
                ConditionExpression="attribute_not_exists(pk) OR (#status = :claimed AND claimed_at < :stale)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":claimed": {"S": "claimed"}, ":stale": {"N": f"{now - STALE_CLAIM_S:.3f}"}},
            )
            return "claimed"
        except Exception as error:
            if not conditional_check_failed(error):
                raise
        current = self.dynamodb.get_item(TableName=self.table_name, Key=self._key(key, entry), ConsistentRead=True)
        status = current.get("Item", {}).get("status", {}).get("S")
        return "published" if status == "published" else "busy"

    def mark_published(self, key: str, entry: str, expires_at: int | None) -> None:
        item = {**self._key(key, entry), "status": {"S": "published"}}
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        self.dynamodb.put_item(TableName=self.table_name, Item=item)

    def release(self, key: str, entries: Sequence[tuple[str, float]]) -> None:
        """Delete each claim still ours (status claimed, our claimed_at): one conditional delete each."""
        for entry, claimed_at in entries:
            try:
                self.dynamodb.delete_item(
                    TableName=self.table_name, Key=self._key(key, entry),
                    ConditionExpression="#status = :claimed AND claimed_at = :mine",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":claimed": {"S": "claimed"}, ":mine": {"N": f"{claimed_at:.3f}"}},
                )
            except Exception as error:
                if not conditional_check_failed(error):
                    raise

    def statuses(self, key: str, entries: Sequence[str]) -> dict[str, tuple[str, float]]:
        """One strongly consistent BatchGetItem per 100 entries (DynamoDB's per-call limit,
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html)."""
        found: dict[str, tuple[str, float]] = {}
        unique = list(dict.fromkeys(entries))
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            request: dict[str, Any] = {self.table_name: {
                "Keys": [self._key(key, entry) for entry in unique[start:start + BATCH_GET_LIMIT]],
                "ConsistentRead": True, "ProjectionExpression": "sk, #status, claimed_at",
                "ExpressionAttributeNames": {"#status": "status"}}}
            for attempt in range(BATCH_ATTEMPTS):
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found[item["sk"]["S"][len(LEDGER_PREFIX):]] = (
                        item.get("status", {}).get("S", ""), float(item.get("claimed_at", {}).get("N", "0")))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.2, 0.01 * 2**attempt))
            else:
                raise RuntimeError("ledger BatchGetItem kept returning unprocessed keys")
        return found

    def mark_published_many(self, key: str, entries: Sequence[tuple[str, dict[str, Any] | None]],
                            expires_at: int | None) -> None:
        """One BatchWriteItem per 25 entries (the per-call limit,
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html);
        unprocessed items are retried with back-off, then the error is raised (the entries stay in
        the outbox and a later call claims them once stale)."""
        puts = []
        for entry, keep in entries:
            item = {**self._key(key, entry), "status": {"S": "published"}}
            if keep is not None:
                item["keep"] = {"S": json.dumps(keep, separators=(",", ":"), sort_keys=True)}
            if expires_at is not None:
                item["expires_at"] = {"N": str(expires_at)}
            puts.append({"PutRequest": {"Item": item}})
        for start in range(0, len(puts), BATCH_WRITE_LIMIT):
            request: dict[str, Any] = {self.table_name: puts[start:start + BATCH_WRITE_LIMIT]}
            for attempt in range(BATCH_ATTEMPTS):
                request = self.dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
                if not request:
                    break
                time.sleep(min(0.2, 0.01 * 2**attempt))
            else:
                raise RuntimeError("ledger BatchWriteItem kept returning unprocessed items")

    def kept(self, key: str) -> list[dict[str, Any]]:
        """The kept records of `key` (a Query of its ledger items, for the GET views only)."""
        records: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "FilterExpression": "attribute_exists(keep)", "ProjectionExpression": "keep",
            "ExpressionAttributeValues": {":pk": {"S": key}, ":prefix": {"S": LEDGER_PREFIX}},
        }
        while True:
            response = self.dynamodb.query(**kwargs)
            records += [json.loads(item["keep"]["S"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return records
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
