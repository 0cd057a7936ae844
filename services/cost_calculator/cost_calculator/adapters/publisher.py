"""Publishes the cost calculator's one event, EndpointRightsizingRecommended, on the Pitwall bus
through the shared envelope and publisher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cost_calculator.models import RightsizingRecommendedData
from pitwall_shared.aws import client
from pitwall_shared.publisher import EventPublisher

SOURCE = "pitwall.cost_calculator"
RIGHTSIZING_DETAIL_TYPE = "EndpointRightsizingRecommended"


@dataclass(frozen=True)
class RightsizingPublisher:
    bus_name: str

    def publish(self, data: RightsizingRecommendedData, *, event_id: str, correlation_id: str | None) -> dict[str, Any]:
        """Put the event on the bus (raises `PublishError` if EventBridge keeps refusing it)."""
        publisher = EventPublisher(source=SOURCE, bus_name=self.bus_name, events_client=client("events"))
        return publisher.publish(
            RIGHTSIZING_DETAIL_TYPE, data.model_dump(mode="json"), event_id=event_id, correlation_id=correlation_id
        )
