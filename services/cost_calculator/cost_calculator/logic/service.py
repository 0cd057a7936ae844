"""Use cases over observed usage: apply one usage event (once), keep the configured inference
units, publish a rightsizing change once, and answer the recommendation route. The usage table and
the bus are passed in (`logic/ports.py`), so this module does no I/O of its own; its rules are in
`logic/usage.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cost_calculator.logic.ports import Publisher, UsageStorePort
from cost_calculator.logic.usage import (
    decide_rightsizing,
    recommend,
    rightsizing_event,
    rightsizing_event_id,
    usage_update,
    window,
)
from cost_calculator.models import Recommendation
from pitwall_shared.events import Envelope
from pitwall_shared.pricing import ComprehendPrices


@dataclass(frozen=True)
class UsageOutcome:
    applied: bool
    rightsizing: Literal["none", "published", "recorded"]


def recommendation_for(store: UsageStorePort, prices: ComprehendPrices, endpoint_name: str, window_minutes: int,
                       now: datetime | None = None) -> Recommendation:
    return _recommendation(store, prices, endpoint_name, window_minutes, now, store.configured(endpoint_name))


def _recommendation(store: UsageStorePort, prices: ComprehendPrices, endpoint_name: str, window_minutes: int,
                    now: datetime | None, configured: int | None) -> Recommendation:
    now = now or datetime.now(UTC)
    first, last = window(now, window_minutes)
    characters = store.characters_by_minute(endpoint_name, first, last)
    return recommend(endpoint_name, characters, now, window_minutes, configured, prices)


def handle_usage_event(detail_type: str, envelope: Envelope, *, store: UsageStorePort, publisher: Publisher,
                       prices: ComprehendPrices, window_minutes: int, now: datetime | None = None) -> UsageOutcome:
    """Aggregate the event (a duplicate adds nothing), then check the endpoint's rightsizing.

    The check runs for duplicates too: if an earlier delivery stored a change but failed to
    publish it, the redelivery publishes it (with the same event id).
    """
    update = usage_update(detail_type, envelope)
    applied = store.apply(update, now)
    if update.endpoint_name is None:
        return UsageOutcome(applied, "none")
    if update.configured_inference_units is not None:
        store.set_configured(update.endpoint_name, update.configured_inference_units, update.observed_at)
    # Only an endpoint with known inference units can be rightsized: read them before the window.
    configured = store.configured(update.endpoint_name)
    if configured is None:
        return UsageOutcome(applied, "none")
    recommendation = _recommendation(store, prices, update.endpoint_name, window_minutes, now, configured)
    current = store.rightsizing_state(update.endpoint_name)
    decision = decide_rightsizing(current, configured, recommendation.recommended_inference_units)
    state = decision.state
    if decision.write_state:
        assert state is not None
        previous = current.sequence if current else None
        if not store.save_rightsizing_state(update.endpoint_name, state, previous):
            # Another delivery recorded a change concurrently; it publishes that change.
            return UsageOutcome(applied, "none")
    if not decision.publish:
        return UsageOutcome(applied, "recorded" if decision.write_state else "none")
    assert state is not None
    publisher.publish(
        rightsizing_event(recommendation, state),
        event_id=rightsizing_event_id(update.endpoint_name, state.sequence),
        correlation_id=envelope.correlation_id,
    )
    store.mark_published(update.endpoint_name, state.sequence)
    return UsageOutcome(applied, "published")
