"""Observed usage: what a ComprehendUsage or EndpointTraffic event adds to the per-minute counters,
the inference units the observed traffic needs (peak and p95 over a window), and when a change of
recommendation deserves an EndpointRightsizingRecommended event (once per change, not per message).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel

from cost_calculator.logic.estimates import quota_warnings
from cost_calculator.models import (
    ComprehendUsageData,
    EndpointTrafficData,
    Recommendation,
    RightsizingRecommendedData,
)
from pitwall_shared.events import Envelope
from pitwall_shared.pricing import ComprehendPrices, endpoint_cost, inference_units

SECONDS_PER_MINUTE = 60
SECONDS_PER_DAY = 86_400
P95 = Fraction(95, 100)
USAGE_DETAIL_TYPES = ("ComprehendUsage", "EndpointTraffic")


class UnknownDetailType(ValueError):
    """The consumer was handed an event it does not aggregate (a wiring mistake, not data)."""


@dataclass(frozen=True)
class Increment:
    """Counters to add to one scope's bucket of one minute."""

    scope: Literal["endpoint", "pii_api"]
    name: str
    minute: datetime
    counters: dict[str, int]


@dataclass(frozen=True)
class UsageUpdate:
    """Everything one usage event changes; applied at most once per `event_id`."""

    event_id: str
    increments: list[Increment]
    endpoint_name: str | None = None
    configured_inference_units: int | None = None
    observed_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def minute_of(moment: datetime) -> datetime:
    """The UTC minute that holds `moment` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def usage_update(detail_type: str, envelope: Envelope) -> UsageUpdate:
    """Turn a usage event into counter increments; pydantic errors name the bad field."""
    if detail_type == "ComprehendUsage":
        usage = ComprehendUsageData.model_validate(envelope.data)
        minute = minute_of(envelope.occurred_at)
        # One increment per API even if a producer reports an API on several lines: a DynamoDB
        # transaction may touch each item only once.
        per_api: dict[str, dict[str, int]] = {}
        for line in usage.usage:
            counters = per_api.setdefault(line.api, {"requests": 0, "characters": 0, "billed_units": 0})
            counters["requests"] += line.requests
            counters["characters"] += line.characters
            counters["billed_units"] += line.billed_units
        increments = [Increment("pii_api", api, minute, counters) for api, counters in per_api.items()]
        if usage.endpoint_name is not None:
            increments.append(Increment("endpoint", usage.endpoint_name, minute, {
                "requests": sum(line.requests for line in usage.usage),
                "characters": sum(line.characters for line in usage.usage),
            }))
        return UsageUpdate(envelope.event_id, increments, usage.endpoint_name, None, envelope.occurred_at)
    if detail_type == "EndpointTraffic":
        traffic = EndpointTrafficData.model_validate(envelope.data)
        increment = Increment("endpoint", traffic.endpoint_name, minute_of(traffic.observed_at),
                              {"requests": traffic.requests, "characters": traffic.characters})
        return UsageUpdate(envelope.event_id, [increment], traffic.endpoint_name,
                           traffic.configured_inference_units, traffic.observed_at)
    raise UnknownDetailType(f"detail-type {detail_type!r} is not one of {', '.join(USAGE_DETAIL_TYPES)}")


def window(now: datetime, window_minutes: int) -> tuple[datetime, datetime]:
    """(first minute, last minute) of the `window_minutes` minutes ending with the one holding `now`."""
    last = minute_of(now)
    return last - timedelta(minutes=window_minutes - 1), last


def nearest_rank(values: list[Fraction], share: Fraction) -> Fraction:
    """The nearest-rank percentile: the smallest value with at least `share` of values at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def _decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def recommend(endpoint_name: str, characters_by_minute: Mapping[datetime, int], now: datetime,
              window_minutes: int, configured: int | None, prices: ComprehendPrices) -> Recommendation:
    """Size an endpoint from per-minute character counts; minutes without a count had no traffic."""
    first, last = window(now, window_minutes)
    rates = []
    observed = 0
    for offset in range(window_minutes):
        minute = first + timedelta(minutes=offset)
        characters = characters_by_minute.get(minute)
        observed += characters is not None
        rates.append(Fraction(characters or 0, SECONDS_PER_MINUTE))
    peak, p95 = max(rates), nearest_rank(rates, P95)
    units_peak, units_p95 = inference_units(peak, prices), inference_units(p95, prices)
    # Sized for the peak: Comprehend throttles requests beyond an endpoint's throughput.
    recommended = units_peak
    warnings = quota_warnings(recommended, prices)
    if observed == 0:
        warnings.append(f"no traffic observed in the last {window_minutes} minutes")
    if units_p95 < units_peak:
        warnings.append(f"{units_p95} inference units serve 95% of minutes; the peak needs {units_peak}")
    saving = shortfall = None
    status: Literal["right_sized", "over_provisioned", "under_provisioned", "unknown_configuration"]
    if configured is None:
        status = "unknown_configuration"
        warnings.append("configured inference units unknown: no EndpointTraffic event or configuration item yet")
    else:
        difference = endpoint_cost(configured - recommended, SECONDS_PER_DAY, prices)
        saving, shortfall = max(difference, Decimal(0)), max(-difference, Decimal(0))
        status = ("over_provisioned" if configured > recommended
                  else "under_provisioned" if configured < recommended else "right_sized")
    return Recommendation(
        endpoint_name=endpoint_name,
        window_start=first,
        window_end=last + timedelta(minutes=1),
        window_minutes=window_minutes,
        observed_minutes=observed,
        peak_characters_per_second=_decimal(peak),
        p95_characters_per_second=_decimal(p95),
        inference_units_for_peak=units_peak,
        inference_units_for_p95=units_p95,
        recommended_inference_units=recommended,
        configured_inference_units=configured,
        status=status,
        projected_daily_saving=saving,
        projected_daily_shortfall=shortfall,
        warnings=warnings,
        price_version=prices.version,
    )


class RightsizingState(BaseModel):
    """The last rightsizing change seen for an endpoint, and whether its event went out (the
    `ENDPOINT#<name>` / `RIGHTSIZING` item of the usage table)."""

    configured_inference_units: int
    recommended_inference_units: int
    sequence: int
    published: bool


@dataclass(frozen=True)
class RightsizingDecision:
    """What to do about a recommendation, given the last change seen for the endpoint.

    `write_state`: store `state` (conditionally on the previous sequence); `publish`: put the event
    of `state` on the bus, then mark it published. A retry after a failed publish finds the state
    unpublished and publishes again with the same event id.
    """

    state: RightsizingState | None
    write_state: bool
    publish: bool


def decide_rightsizing(current: RightsizingState | None, configured: int, recommended: int) -> RightsizingDecision:
    sequence = current.sequence if current else 0
    if recommended == configured:
        # Remember that the endpoint is right-sized again, so a later drift is a new change.
        if current is None or current.recommended_inference_units == current.configured_inference_units:
            return RightsizingDecision(current, write_state=False, publish=False)
        state = RightsizingState(configured_inference_units=configured, recommended_inference_units=configured,
                                 sequence=sequence + 1, published=True)
        return RightsizingDecision(state, write_state=True, publish=False)
    if current is not None and (current.configured_inference_units, current.recommended_inference_units) == (
        configured, recommended
    ):
        return RightsizingDecision(current, write_state=False, publish=not current.published)
    state = RightsizingState(configured_inference_units=configured, recommended_inference_units=recommended,
                             sequence=sequence + 1, published=False)
    return RightsizingDecision(state, write_state=True, publish=True)


def rightsizing_event_id(endpoint_name: str, sequence: int) -> str:
    """Deterministic, so a republished change carries the id consumers already deduplicate on."""
    return f"rightsizing:{endpoint_name}:{sequence}"


def rightsizing_event(recommendation: Recommendation, state: RightsizingState) -> RightsizingRecommendedData:
    assert recommendation.projected_daily_saving is not None
    assert recommendation.projected_daily_shortfall is not None
    return RightsizingRecommendedData(
        endpoint_name=recommendation.endpoint_name,
        configured_inference_units=state.configured_inference_units,
        recommended_inference_units=state.recommended_inference_units,
        direction="scale_down" if state.recommended_inference_units < state.configured_inference_units else "scale_up",
        peak_characters_per_second=recommendation.peak_characters_per_second,
        p95_characters_per_second=recommendation.p95_characters_per_second,
        window_minutes=recommendation.window_minutes,
        projected_daily_saving=recommendation.projected_daily_saving,
        projected_daily_shortfall=recommendation.projected_daily_shortfall,
        sequence=state.sequence,
        price_version=recommendation.price_version,
    )
