"""What the use cases need from the outside world, as Protocols: the usage table and the bus.

`adapters/usage_store.py` (DynamoDB) and `adapters/publisher.py` (EventBridge) implement them;
`factory.py` passes the real ones in, tests may pass others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from cost_calculator.logic.usage import RightsizingState, UsageUpdate
from cost_calculator.models import RightsizingRecommendedData


class UsageStorePort(Protocol):
    def apply(self, update: UsageUpdate, now: datetime | None = None) -> bool: ...
    def characters_by_minute(self, endpoint_name: str, first: datetime, last: datetime) -> dict[datetime, int]: ...
    def set_configured(self, endpoint_name: str, units: int, observed_at: datetime) -> None: ...
    def configured(self, endpoint_name: str) -> int | None: ...
    def rightsizing_state(self, endpoint_name: str) -> RightsizingState | None: ...
    def save_rightsizing_state(self, endpoint_name: str, state: RightsizingState,
                               previous_sequence: int | None) -> bool: ...
    def mark_published(self, endpoint_name: str, sequence: int) -> None: ...


class Publisher(Protocol):
    def publish(self, data: RightsizingRecommendedData, *, event_id: str, correlation_id: str | None) -> object: ...
