"""DynamoDB implementations of the state store and the publish ledger, in one table.

Key design (see the service README): partition key `pk` = "<SPORT>#<race or game id>", sort key
`sk` = "STATE" for the one state item, "PUB#<entry>" for each ledger entry. The state body is
zlib-compressed JSON in a binary attribute, written with a conditional put on `version`; every
item carries `expires_at` (epoch seconds) for DynamoDB TTL.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from pitwall_shared.aws import DynamoTableAdapter, conditional_check_failed
from race_predictor.logic.ports import STALE_CLAIM_S, ClaimResult, Stored, VersionConflict

STATE_SK = "STATE"
LEDGER_PREFIX = "PUB#"


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
        return Stored(decode_body(item["state"]["B"]), int(item["version"]["N"]))

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
