"""The review state table: drift windows per model and loop counters per policy and minute."""

from __future__ import annotations

import json
import time

from botocore.exceptions import ClientError

from human_review.adapters.dynamo import value
from human_review.logic.drift import DriftState
from pitwall_shared.aws import DynamoTableAdapter, conditional_check_failed

COUNTER_TTL_S = 3600  # a minute's counter is useless after the minute; TTL keeps the table small


class StateTable(DynamoTableAdapter):
    """Optimistically locked drift state and atomic per-minute loop counters."""

    def load_drift(self, model_id: str) -> DriftState:
        response = self.dynamodb.get_item(
            TableName=self.table_name, Key={"pk": value(f"drift#{model_id}")}, ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return DriftState()
        return DriftState.model_validate_json(item["state"]["S"]).model_copy(
            update={"version": int(item["version"]["N"])})

    def save_drift(self, model_id: str, state: DriftState, *, expected_version: int) -> bool:
        """Store `state` unless another writer got there first (then return False: reload, redo)."""
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        values = {":expected": value(expected_version)} if expected_version else {}
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={"pk": value(f"drift#{model_id}"), "version": value(state.version),
                      "state": value(json.dumps(state.model_dump(mode="json", exclude={"version"})))},
                ConditionExpression=condition, **({"ExpressionAttributeValues": values} if values else {}),
            )
            return True
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise

    def try_acquire_loop_slot(self, policy_name: str, minute: str, ceiling: int) -> bool:
        """Count one loop in `minute` for `policy_name` unless `ceiling` loops already started."""
        if ceiling <= 0:
            return False
        try:
            self.dynamodb.update_item(
                TableName=self.table_name, Key={"pk": value(f"loops#{policy_name}#{minute}")},
                UpdateExpression="ADD started :one SET expires_at = if_not_exists(expires_at, :ttl)",
                ConditionExpression="attribute_not_exists(started) OR started < :ceiling",
                ExpressionAttributeValues={":one": value(1), ":ceiling": value(ceiling),
                                           ":ttl": value(int(time.time()) + COUNTER_TTL_S)},
            )
            return True
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
