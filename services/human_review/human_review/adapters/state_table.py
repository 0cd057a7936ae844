"""The review state table: drift windows per model and loop counters per policy and minute."""

from __future__ import annotations

import json
import time
from typing import Any

from human_review.adapters.dynamo import value
from human_review.logic.drift import DriftState
from human_review.logic.ground_truth import SubjectState
from pitwall_shared.aws import DynamoTableAdapter, conditional_write

SUBJECT_TTL_S = 14 * 24 * 3600  # a forecast's outcome comes within the race / game; two weeks is ample
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
        return conditional_write(lambda: self.dynamodb.put_item(
            TableName=self.table_name,
            Item={"pk": value(f"drift#{model_id}"), "version": value(state.version),
                  "state": value(json.dumps(state.model_dump(mode="json", exclude={"version"})))},
            ConditionExpression=condition, **({"ExpressionAttributeValues": values} if values else {}),
        ))

    def try_acquire_loop_slot(self, policy_name: str, minute: str, ceiling: int) -> bool:
        """Count one loop in `minute` for `policy_name` unless `ceiling` loops already started."""
        if ceiling <= 0:
            return False
        return conditional_write(lambda: self.dynamodb.update_item(
            TableName=self.table_name, Key={"pk": value(f"loops#{policy_name}#{minute}")},
            UpdateExpression="ADD started :one SET expires_at = if_not_exists(expires_at, :ttl)",
            ConditionExpression="attribute_not_exists(started) OR started < :ceiling",
            ExpressionAttributeValues={":one": value(1), ":ceiling": value(ceiling),
                                       ":ttl": value(int(time.time()) + COUNTER_TTL_S)},
        ))

    # --- forecast subjects (ground truth, issue 19 item 1): one item each, updated atomically ---
    def _subject(self, item: dict[str, Any] | None) -> SubjectState:
        if not item:
            return SubjectState()
        return SubjectState(
            predictions=frozenset(item.get("predictions", {}).get("SS", [])),
            resolved="resolved_at" in item, label=item.get("label", {}).get("S"),
            observed_at=item.get("resolved_at", {}).get("S"),
            outcome_event_id=item.get("outcome_event_id", {}).get("S"))

    def add_prediction(self, pk: str, event_id: str) -> SubjectState:
        """Add a prediction under its subject; the item as it is after the write (one atomic update)."""
        response = self.dynamodb.update_item(
            TableName=self.table_name, Key={"pk": value(pk)},
            UpdateExpression="ADD predictions :id SET expires_at = if_not_exists(expires_at, :ttl)",
            ExpressionAttributeValues={":id": {"SS": [event_id]}, ":ttl": value(int(time.time()) + SUBJECT_TTL_S)},
            ReturnValues="ALL_NEW")
        return self._subject(response.get("Attributes"))

    def resolve_subject(self, pk: str, *, label: str | None, observed_at: str, outcome_event_id: str) -> SubjectState:
        """Record the subject's outcome unless one is recorded (the first wins: a repeat changes nothing)."""
        sets = ["resolved_at = if_not_exists(resolved_at, :at)", "outcome_event_id = if_not_exists(outcome_event_id, :eid)",
                "expires_at = if_not_exists(expires_at, :ttl)"]
        values = {":at": value(observed_at), ":eid": value(outcome_event_id),
                  ":ttl": value(int(time.time()) + SUBJECT_TTL_S)}
        if label is not None:
            # A label only with the first outcome: a later outcome of a resolved subject adds none.
            current = self.get_subject(pk)
            if not current.resolved:
                sets.append("label = if_not_exists(label, :label)")
                values[":label"] = value(label)
        response = self.dynamodb.update_item(
            TableName=self.table_name, Key={"pk": value(pk)}, UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        return self._subject(response.get("Attributes"))

    def get_subject(self, pk: str) -> SubjectState:
        response = self.dynamodb.get_item(TableName=self.table_name, Key={"pk": value(pk)}, ConsistentRead=True)
        return self._subject(response.get("Item"))
