"""The loops table: one item per human loop, with an index by status (`status-index`)."""

from __future__ import annotations

from typing import Any

from human_review.adapters.dynamo import deserialise, serialise, value
from human_review.models import LoopRecord, LoopStatus
from pitwall_shared.aws import DynamoTableAdapter, conditional_write


class LoopsTable(DynamoTableAdapter):
    """Reads and writes `LoopRecord`s; conditional writes make duplicate deliveries harmless."""

    def create_pending(self, record: LoopRecord) -> LoopRecord | None:
        """Record a new loop; return the existing record instead if the name is already taken."""
        if conditional_write(lambda: self.dynamodb.put_item(
            TableName=self.table_name, Item=serialise(record.model_dump(mode="json")),
            ConditionExpression="attribute_not_exists(human_loop_name)",
        )):
            return None
        existing = self.get(record.human_loop_name)
        if existing is None:  # deleted between the two calls: treat as taken, the caller retries
            raise RuntimeError("loop record vanished while being created")
        return existing

    def get(self, human_loop_name: str) -> LoopRecord | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"human_loop_name": value(human_loop_name)}, ConsistentRead=True,
        )
        item = response.get("Item")
        return LoopRecord.model_validate(deserialise(item)) if item else None

    def update(self, human_loop_name: str, fields: dict[str, Any]) -> None:
        """Set `fields` on an existing record."""
        names = {f"#f{index}": name for index, name in enumerate(fields)}
        values = {f":v{index}": value(item) for index, item in enumerate(fields.values())}
        assignments = ", ".join(f"#f{index} = :v{index}" for index in range(len(fields)))
        self.dynamodb.update_item(
            TableName=self.table_name, Key={"human_loop_name": value(human_loop_name)},
            UpdateExpression=f"SET {assignments}", ExpressionAttributeNames=names,
            ExpressionAttributeValues=values, ConditionExpression="attribute_exists(human_loop_name)",
        )

    def by_status(self, status: LoopStatus, *, limit: int = 100) -> list[LoopRecord]:
        """Loops in one status, oldest first (the `status-index` GSI)."""
        response = self.dynamodb.query(
            TableName=self.table_name, IndexName="status-index",
            KeyConditionExpression="#s = :s", ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": value(status.value)}, Limit=limit,
        )
        return [LoopRecord.model_validate(deserialise(item)) for item in response.get("Items", [])]
