"""The traffic-profile plan: one day's traffic served by a fixed endpoint sized for the day's peak,
against an hourly schedule of inference units (each hour sized for its own peak).

Each run of hours at one IU count is one provisioning at that count, billed per second with the
60-second minimum from the moment of the change; an endpoint never drops below 1 IU (deleting and
re-creating it takes minutes, so the schedule keeps it alive). Ties go to the fixed endpoint, which
needs no scheduler.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

from cost_calculator.logic.estimates import quota_warnings
from cost_calculator.models import (
    HOURS_PER_DAY,
    EndpointPlan,
    ScheduleStep,
    TrafficPlan,
    TrafficProfileRequest,
)
from pitwall_shared.pricing import ComprehendPrices, billed_seconds, endpoint_cost, inference_units

SECONDS_PER_HOUR = 3_600


def hourly_peaks(characters_per_second: Sequence[Decimal]) -> list[Decimal]:
    """Peak characters per second of each hour of a 24-hourly or 1,440-per-minute profile."""
    per_hour = len(characters_per_second) // HOURS_PER_DAY
    return [max(characters_per_second[hour * per_hour:(hour + 1) * per_hour]) for hour in range(HOURS_PER_DAY)]


def plan_from_hourly_units(units_by_hour: Sequence[int], prices: ComprehendPrices) -> EndpointPlan:
    """Price a schedule given as the IU count of each hour: consecutive equal hours form one step."""
    steps: list[ScheduleStep] = []
    start = 0
    for hour in range(1, len(units_by_hour) + 1):
        if hour == len(units_by_hour) or units_by_hour[hour] != units_by_hour[start]:
            seconds = billed_seconds((hour - start) * SECONDS_PER_HOUR, prices)
            units = units_by_hour[start]
            steps.append(ScheduleStep(
                start_hour=start, end_hour=hour, inference_units=units, billed_seconds=seconds,
                cost=endpoint_cost(units, seconds, prices),
            ))
            start = hour
    return EndpointPlan(
        inference_units_peak=max(units_by_hour),
        changes=len(steps) - 1,
        billed_inference_unit_seconds=sum(step.inference_units * step.billed_seconds for step in steps),
        cost=sum((step.cost for step in steps), Decimal(0)),
        schedule=steps,
    )


def plan_traffic(request: TrafficProfileRequest, prices: ComprehendPrices) -> TrafficPlan:
    """Compare the fixed peak-sized endpoint with the hourly schedule and pick the cheaper."""
    profile = request.characters_per_second
    peak = max(profile)
    peak_units = inference_units(peak, prices)
    fixed = plan_from_hourly_units([peak_units] * HOURS_PER_DAY, prices)
    scheduled = plan_from_hourly_units([inference_units(p, prices) for p in hourly_peaks(profile)], prices)
    cheaper: Literal["fixed", "hourly_schedule"] = "hourly_schedule" if scheduled.cost < fixed.cost else "fixed"
    chosen = scheduled if cheaper == "hourly_schedule" else fixed
    return TrafficPlan(
        resolution="hour" if len(profile) == HOURS_PER_DAY else "minute",
        peak_characters_per_second=peak,
        fixed=fixed,
        hourly_schedule=scheduled,
        cheaper_plan=cheaper,
        daily_saving=fixed.cost - chosen.cost,
        schedule=chosen.schedule,
        warnings=quota_warnings(peak_units, prices),
        price_version=prices.version,
    )
