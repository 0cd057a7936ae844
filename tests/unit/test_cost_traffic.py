"""The traffic-profile plan: a fixed peak-sized endpoint against an hourly IU schedule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cost_calculator.logic.traffic import hourly_peaks, plan_from_hourly_units, plan_traffic
from cost_calculator.models import FieldProblem, TrafficProfileRequest
from pitwall_shared.pricing import current_prices

PRICES = current_prices()
IU_SECOND = Decimal("0.0005")


def plan(profile):
    return plan_traffic(TrafficProfileRequest(characters_per_second=[Decimal(v) for v in profile]), PRICES)


def test_business_hours_profile_prefers_the_hourly_schedule():
    answer = plan([40] * 8 + [450] * 10 + [120] * 6)
    assert answer.peak_characters_per_second == 450
    assert answer.fixed.inference_units_peak == 5
    assert answer.fixed.cost == IU_SECOND * 5 * 86_400
    steps = [(s.start_hour, s.end_hour, s.inference_units) for s in answer.hourly_schedule.schedule]
    assert steps == [(0, 8, 1), (8, 18, 5), (18, 24, 2)]
    assert answer.hourly_schedule.changes == 2
    assert answer.hourly_schedule.cost == IU_SECOND * 3600 * (8 * 1 + 10 * 5 + 6 * 2)
    assert answer.cheaper_plan == "hourly_schedule"
    assert answer.schedule == answer.hourly_schedule.schedule
    assert answer.daily_saving == answer.fixed.cost - answer.hourly_schedule.cost == Decimal("90")


def test_flat_profile_keeps_the_fixed_endpoint():
    answer = plan([250] * 24)
    assert answer.hourly_schedule.changes == 0
    assert answer.hourly_schedule.cost == answer.fixed.cost
    assert answer.cheaper_plan == "fixed"
    assert answer.daily_saving == 0
    assert [(s.start_hour, s.end_hour, s.inference_units) for s in answer.schedule] == [(0, 24, 3)]


def test_per_minute_profile_sizes_each_hour_for_its_own_peak_minute():
    minutes = [Decimal(50)] * 1440
    minutes[14 * 60 + 30] = Decimal(901)  # one busy minute at 14:30
    answer = plan(minutes)
    assert answer.resolution == "minute"
    units = {s.start_hour: s.inference_units for s in answer.hourly_schedule.schedule}
    assert units == {0: 1, 14: 10, 15: 1}
    assert answer.fixed.inference_units_peak == 10
    assert answer.hourly_schedule.cost == IU_SECOND * 3600 * (23 * 1 + 10)


def test_each_change_is_billed_with_the_60_second_minimum():
    # Steps are whole hours, so the minimum never adds seconds; a step's billed time is its length.
    answer = plan([40] * 8 + [450] * 10 + [120] * 6)
    assert [s.billed_seconds for s in answer.hourly_schedule.schedule] == [8 * 3600, 10 * 3600, 6 * 3600]
    assert answer.hourly_schedule.billed_inference_unit_seconds == 3600 * (8 + 50 + 12)


def test_schedule_of_a_single_hour_and_every_hour_changing():
    alternating = [1, 3] * 12
    scheduled = plan_from_hourly_units(alternating, PRICES)
    assert scheduled.changes == 23
    assert all(step.billed_seconds == 3600 for step in scheduled.schedule)
    assert scheduled.cost == IU_SECOND * 3600 * (12 * 1 + 12 * 3)


def test_quota_warning_for_a_peak_beyond_ten_units():
    answer = plan([100] * 23 + [1500])
    assert answer.fixed.inference_units_peak == 15
    assert any("2 endpoints" in w and "quota increase to 15" in w for w in answer.warnings)


@pytest.mark.parametrize("length", [0, 1, 23, 25, 1439, 1441])
def test_profile_must_cover_a_day_by_hour_or_minute(length):
    with pytest.raises(ValueError) as raised:
        TrafficProfileRequest(characters_per_second=[Decimal(1)] * length)
    cause = raised.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, FieldProblem) and cause.field == "characters_per_second"


@given(st.lists(st.integers(min_value=0, max_value=3000), min_size=24, max_size=24))
def test_schedule_serves_every_hour_and_never_costs_more_than_fixed(profile):
    answer = plan(profile)
    steps = answer.hourly_schedule.schedule
    assert steps[0].start_hour == 0 and steps[-1].end_hour == 24
    assert all(a.end_hour == b.start_hour and a.inference_units != b.inference_units for a, b in zip(steps, steps[1:], strict=False))
    for step in steps:
        for hour in range(step.start_hour, step.end_hour):
            assert step.inference_units * 100 >= profile[hour]
            assert step.inference_units >= 1
    assert answer.hourly_schedule.cost == sum(s.cost for s in steps)
    assert answer.hourly_schedule.cost <= answer.fixed.cost
    assert answer.daily_saving == answer.fixed.cost - min(answer.fixed.cost, answer.hourly_schedule.cost)


def test_hourly_peaks_of_minutes():
    minutes = [Decimal(m % 60) for m in range(1440)]
    assert hourly_peaks(minutes) == [Decimal(59)] * 24
