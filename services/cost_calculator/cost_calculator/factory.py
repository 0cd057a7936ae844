"""Builds the cost calculator's objects from its settings, once per process (both entry points use these).

Each function is cached: the first call (Lambda's init phase, where `api.py` and `handlers.py` call
them, so a missing or malformed variable fails the cold start naming it) reads the settings and
creates the adapters; tests call `cache_clear()` for a fresh sandbox.
"""

from __future__ import annotations

import functools

from cost_calculator.adapters.publisher import RightsizingPublisher
from cost_calculator.adapters.usage_store import UsageStore
from cost_calculator.settings import ApiSettings, ConsumerSettings
from pitwall_shared.pricing import ComprehendPrices, current_prices
from pitwall_shared.settings import load_settings


@functools.cache
def api_settings() -> ApiSettings:
    """USAGE_TABLE_NAME: all the HTTP function reads (and the consumer too)."""
    return load_settings(ApiSettings)


@functools.cache
def consumer_settings() -> ConsumerSettings:
    """The usage consumer's settings: the table, EVENT_BUS_NAME, RECOMMENDATION_WINDOW_MINUTES."""
    return load_settings(ConsumerSettings)


@functools.cache
def prices() -> ComprehendPrices:
    return current_prices()


@functools.cache
def store() -> UsageStore:
    """The usage table (the recommendation route reads it, the consumer writes it)."""
    return UsageStore(api_settings().usage_table_name)


@functools.cache
def publisher() -> RightsizingPublisher:
    return RightsizingPublisher(consumer_settings().event_bus_name)
