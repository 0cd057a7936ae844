"""The usage table (DynamoDB, one table, pk/sk): per-minute usage counters with TTL, event-id
markers that make aggregation idempotent, each endpoint's configured inference units and its last
rightsizing change.

Items:
    ENDPOINT#<name> / MINUTE#<yyyy-mm-ddThh:mm>   characters, requests            (TTL)
    PII_API#<api>   / MINUTE#<yyyy-mm-ddThh:mm>   characters, requests, billed_units (TTL)
    ENDPOINT#<name> / CONFIG                      configured_inference_units, configured_at
    ENDPOINT#<name> / RIGHTSIZING                 configured/recommended units, sequence, published
    EVENT#<event_id> / EVENT                      marker of an applied usage event (TTL)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cost_calculator.logic.usage import Increment, RightsizingState, UsageUpdate
from pitwall_shared.aws import client, conditional_write

MINUTE_FORMAT = "%Y-%m-%dT%H:%M"
SCOPE_PREFIX = {"endpoint": "ENDPOINT#", "pii_api": "PII_API#"}


def _minute_key(minute: datetime) -> str:
    return "MINUTE#" + minute.astimezone(UTC).strftime(MINUTE_FORMAT)


def _endpoint_key(name: str, sort_key: str) -> dict[str, Any]:
    return {"pk": {"S": SCOPE_PREFIX["endpoint"] + name}, "sk": {"S": sort_key}}


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


@dataclass
class UsageStore:
    """Reads and writes the usage table; `minute_ttl` keeps counters, `event_ttl` keeps markers
    (longer than the queue's retention, so a redelivery always finds its marker)."""

    table_name: str
    minute_ttl: timedelta = timedelta(days=3)
    event_ttl: timedelta = timedelta(days=15)

    def apply(self, update: UsageUpdate, now: datetime | None = None) -> bool:
        """Add the update's counters once; False (and nothing added) if its event was applied before.

        The marker and the counters go in one transaction, so a crash between them cannot count
        an event twice or lose it.
        """
        now = now or datetime.now(UTC)
        items: list[dict[str, Any]] = [{
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    "pk": {"S": f"EVENT#{update.event_id}"},
                    "sk": {"S": "EVENT"},
                    "expires_at": {"N": _epoch(now + self.event_ttl)},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }]
        items += [{"Update": self._increment(increment)} for increment in update.increments]
        # False: the marker exists, this event was applied before.
        return conditional_write(lambda: client("dynamodb").transact_write_items(TransactItems=items))

    def _increment(self, increment: Increment) -> dict[str, Any]:
        names = {f"#c{i}": name for i, name in enumerate(increment.counters)}
        values: dict[str, Any] = {f":c{i}": {"N": str(value)} for i, value in enumerate(increment.counters.values())}
        values[":ttl"] = {"N": _epoch(increment.minute + self.minute_ttl)}
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(increment.counters)))
        return {
            "TableName": self.table_name,
            "Key": {"pk": {"S": SCOPE_PREFIX[increment.scope] + increment.name},
                    "sk": {"S": _minute_key(increment.minute)}},
            "UpdateExpression": f"SET expires_at = :ttl ADD {adds}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def characters_by_minute(self, endpoint_name: str, first: datetime, last: datetime) -> dict[datetime, int]:
        """Characters counted for each minute from `first` to `last` (inclusive) that had any."""
        found: dict[datetime, int] = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": {"S": SCOPE_PREFIX["endpoint"] + endpoint_name},
                ":first": {"S": _minute_key(first)},
                ":last": {"S": _minute_key(last)},
            },
            "ProjectionExpression": "sk, #characters",
            "ExpressionAttributeNames": {"#characters": "characters"},
            "ConsistentRead": True,
        }
        while True:
            page = client("dynamodb").query(**request)
            for item in page.get("Items", []):
                minute = datetime.strptime(item["sk"]["S"].removeprefix("MINUTE#"), MINUTE_FORMAT).replace(tzinfo=UTC)
                found[minute] = int(item.get("characters", {"N": "0"})["N"])
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_configured(self, endpoint_name: str, units: int, observed_at: datetime) -> None:
        """Record the endpoint's configured inference units unless a newer report already did."""
        conditional_write(lambda: client("dynamodb").update_item(
            TableName=self.table_name,
            Key=_endpoint_key(endpoint_name, "CONFIG"),
            UpdateExpression="SET configured_inference_units = :units, configured_at = :at",
            ConditionExpression="attribute_not_exists(configured_at) OR configured_at <= :at",
            ExpressionAttributeValues={
                ":units": {"N": str(units)},
                ":at": {"S": observed_at.astimezone(UTC).isoformat()},
            },
        ))

    def configured(self, endpoint_name: str) -> int | None:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key=_endpoint_key(endpoint_name, "CONFIG"), ConsistentRead=True
        ).get("Item")
        if not item or "configured_inference_units" not in item:
            return None
        return int(item["configured_inference_units"]["N"])

    def rightsizing_state(self, endpoint_name: str) -> RightsizingState | None:
        item = client("dynamodb").get_item(
            TableName=self.table_name, Key=_endpoint_key(endpoint_name, "RIGHTSIZING"), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return RightsizingState(
            configured_inference_units=int(item["configured_inference_units"]["N"]),
            recommended_inference_units=int(item["recommended_inference_units"]["N"]),
            sequence=int(item["sequence"]["N"]),
            published=item["published"]["BOOL"],
        )

    def save_rightsizing_state(self, endpoint_name: str, state: RightsizingState, previous_sequence: int | None) -> bool:
        """Store `state` if nobody changed it since `previous_sequence` was read; False otherwise."""
        condition = "attribute_not_exists(pk)" if previous_sequence is None else "#seq = :previous"
        extra = {} if previous_sequence is None else {
            "ExpressionAttributeNames": {"#seq": "sequence"},
            "ExpressionAttributeValues": {":previous": {"N": str(previous_sequence)}},
        }
        return conditional_write(lambda: client("dynamodb").put_item(
            TableName=self.table_name,
            Item={
                **_endpoint_key(endpoint_name, "RIGHTSIZING"),
                "configured_inference_units": {"N": str(state.configured_inference_units)},
                "recommended_inference_units": {"N": str(state.recommended_inference_units)},
                "sequence": {"N": str(state.sequence)},
                "published": {"BOOL": state.published},
            },
            ConditionExpression=condition,
            **extra,
        ))

    def mark_published(self, endpoint_name: str, sequence: int) -> None:
        # Not written: a newer change replaced this one meanwhile; its own publication is what matters now.
        conditional_write(lambda: client("dynamodb").update_item(
            TableName=self.table_name,
            Key=_endpoint_key(endpoint_name, "RIGHTSIZING"),
            UpdateExpression="SET published = :true",
            ConditionExpression="#seq = :sequence",
            ExpressionAttributeNames={"#seq": "sequence"},
            ExpressionAttributeValues={":true": {"BOOL": True}, ":sequence": {"N": str(sequence)}},
        ))
