"""What the two flows need from the outside world, as Protocols, and the bundles the factory fills.

`adapters/` implement them (loops table, state table, S3, A2I runtime, the shared publisher);
`factory.py` builds `TriggerPorts` and `CompletionPorts` from the settings; tests pass in-memory ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from human_review.logic.drift import DriftState
from human_review.logic.ground_truth import SubjectState
from human_review.models import LoopRecord


# --- the trigger (prediction / outcome → human loop) --------------------------------------------
class LoopsPort(Protocol):
    def get(self, human_loop_name: str) -> LoopRecord | None: ...
    def create_pending(self, record: LoopRecord) -> LoopRecord | None: ...
    def update(self, human_loop_name: str, fields: dict[str, Any]) -> None: ...


class StatePort(Protocol):
    def load_drift(self, model_id: str) -> DriftState: ...
    def save_drift(self, model_id: str, state: DriftState, *, expected_version: int) -> bool: ...
    def try_acquire_loop_slot(self, policy_name: str, minute: str, ceiling: int) -> bool: ...
    def add_prediction(self, pk: str, event_id: str) -> SubjectState: ...
    def resolve_subject(self, pk: str, *, label: str | None, observed_at: str,
                        outcome_event_id: str) -> SubjectState: ...
    def get_subject(self, pk: str) -> SubjectState: ...


class StoragePort(Protocol):
    def put_text(self, uri: str, text: str, *, content_type: str = ...) -> None: ...


class HumanLoopsPort(Protocol):
    def start(self, *, name: str, flow_definition_arn: str, input_content: str, free_of_pii: bool) -> str: ...
    def stop(self, name: str) -> None: ...


class PublisherPort(Protocol):
    def publish(self, detail_type: str, data: dict[str, Any], *, event_id: str | None = None,
                correlation_id: str | None = None) -> dict[str, Any]: ...


@dataclass
class TriggerPorts:
    loops: LoopsPort
    state: StatePort
    storage: StoragePort
    human_loops: HumanLoopsPort
    publisher: PublisherPort
    bucket: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    pii_review_bucket: str | None = None  # the raw-PII bucket: where PII review task objects must be


# --- the completion (A2I status change → manifest part) ----------------------------------------
class CompletionLoopsPort(Protocol):
    def get(self, human_loop_name: str) -> LoopRecord | None: ...
    def update(self, human_loop_name: str, fields: dict[str, Any]) -> None: ...


class CompletionStoragePort(Protocol):
    def get_json(self, uri: str) -> Any: ...
    def put_text(self, uri: str, text: str, *, content_type: str = ...) -> None: ...


@dataclass
class CompletionPorts:
    loops: CompletionLoopsPort
    storage: CompletionStoragePort
    publisher: PublisherPort
    bucket: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    pii_review_bucket: str | None = None  # the raw-PII bucket: PII review parts hold the text
