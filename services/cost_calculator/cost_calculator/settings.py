"""Settings of the cost calculator's functions, read once from the environment at cold start
(a missing or malformed variable fails with its name).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pitwall_shared.settings import ServiceSettings


class ApiSettings(ServiceSettings):
    """The HTTP function: USAGE_TABLE_NAME (read by the recommendation route)."""

    usage_table_name: Annotated[str, Field(min_length=3)]


class ConsumerSettings(ApiSettings):
    """The usage consumer: USAGE_TABLE_NAME, EVENT_BUS_NAME, RECOMMENDATION_WINDOW_MINUTES."""

    event_bus_name: Annotated[str, Field(min_length=1)]
    recommendation_window_minutes: Annotated[int, Field(ge=1, le=1_440)] = 60
