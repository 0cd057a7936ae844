"""Endpoint and PII estimates: AWS's published examples, billing minimums, quota warnings, what
grouping fields saves, and the request rules (pure logic, no AWS)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cost_calculator.logic.estimates import estimate_endpoint, estimate_pii, units_per_record
from cost_calculator.models import EndpointEstimateRequest, FieldProblem, PiiEstimateRequest
from pitwall_shared.pricing import current_prices

PRICES = current_prices()


def endpoint(**body):
    return estimate_endpoint(EndpointEstimateRequest.model_validate(body), PRICES)


def pii(**body):
    return estimate_pii(PiiEstimateRequest.model_validate(body), PRICES)


@pytest.mark.parametrize(("messages", "characters", "throughput", "units", "inference", "total"), [
    (10, 360, "60", 1, "21.60", "25.10"),
    (50, 600, "500", 5, "108.00", "111.50"),
])
def test_published_endpoint_examples(messages, characters, throughput, units, inference, total):
    answer = endpoint(characters_per_message=characters, messages_per_minute=messages, hours_per_day=12)
    assert answer.characters_per_second == Decimal(throughput)
    assert answer.inference_units == units
    assert answer.billed_seconds == 12 * 3600
    assert answer.inference_cost == Decimal(inference)
    assert (answer.training_cost, answer.management_cost) == (Decimal("3.00"), Decimal("0.50"))
    assert answer.total_cost == Decimal(total)
    assert answer.warnings == []


def test_published_endpoint_example_as_characters_per_second_gives_the_same_figures():
    by_rate = endpoint(characters_per_second=500, hours_per_day=12)
    by_messages = endpoint(characters_per_message=600, messages_per_minute=50, hours_per_day=12)
    assert by_rate.total_cost == by_messages.total_cost == Decimal("111.50")


def test_answer_serialises_amounts_as_unrounded_decimal_strings():
    answer = endpoint(characters_per_message=360, messages_per_minute=10, hours_per_day=12).model_dump(mode="json")
    assert answer["inference_cost"] == "21.6"
    assert answer["total_cost"] == "25.1"
    assert answer["characters_per_second"] == "60"
    tiny = endpoint(characters_per_second=1, seconds=1, training_hours=0, management_months=0)
    assert tiny.model_dump(mode="json")["total_cost"] == "0.03"


def test_hours_per_day_over_a_month_bills_each_day():
    answer = endpoint(characters_per_second=60, hours_per_day=12, days=30, training_hours=0, management_months=0)
    assert answer.billed_seconds == 30 * 43_200
    assert answer.total_cost == Decimal("648.00")


@pytest.mark.parametrize(("seconds", "billed"), [("1", 60), ("59.5", 60), ("60", 60), ("60.5", 61), ("3600", 3600)])
def test_short_provisioning_is_billed_the_60_second_minimum(seconds, billed):
    answer = endpoint(characters_per_second=100, seconds=Decimal(seconds), training_hours=0, management_months=0)
    assert answer.billed_seconds == billed
    assert answer.inference_cost == Decimal("0.0005") * billed
    assert any("60-second minimum" in w for w in answer.warnings) == (Decimal(seconds) < 60)


def test_a_few_minutes_a_day_pays_the_minimum_each_day():
    answer = endpoint(characters_per_second=100, hours_per_day=Decimal("0.01"), days=3, training_hours=0,
                      management_months=0)
    assert answer.billed_seconds == 3 * 60


def test_rate_just_over_a_unit_needs_another_unit():
    assert endpoint(characters_per_second=Decimal("100.000001"), hours_per_day=1).inference_units == 2
    # 7 characters a minute is a repeating decimal per second; sizing stays exact.
    slow = endpoint(characters_per_message=7, messages_per_minute=1, hours_per_day=1)
    assert slow.inference_units == 1
    assert slow.characters_per_second.quantize(Decimal("0.0001")) == Decimal("0.1167")


@pytest.mark.parametrize(("throughput", "units", "endpoints"), [(1000, 10, 1), (1001, 11, 2), (2500, 25, 3)])
def test_quota_warning_beyond_ten_units_names_endpoints_and_quota(throughput, units, endpoints):
    answer = endpoint(characters_per_second=throughput, hours_per_day=1)
    assert answer.inference_units == units
    assert answer.endpoints_at_default_quota == endpoints
    if units <= 10:
        assert answer.warnings == []
    else:
        (warning,) = answer.warnings
        assert f"{endpoints} endpoints" in warning
        assert f"quota increase to {units} inference units" in warning


@given(
    throughput=st.decimals(min_value=Decimal("0.000001"), max_value=1_000_000, places=6),
    hours=st.decimals(min_value=Decimal("0.000001"), max_value=24, places=6),
    training=st.decimals(min_value=0, max_value=100, places=2),
    months=st.decimals(min_value=0, max_value=24, places=2),
)
def test_total_is_the_exact_sum_of_its_parts(throughput, hours, training, months):
    answer = endpoint(characters_per_second=throughput, hours_per_day=hours, training_hours=training,
                      management_months=months)
    assert answer.inference_units == max(1, math.ceil(throughput / 100))
    assert answer.billed_seconds == max(60, math.ceil(hours * 3600))
    assert answer.inference_cost == Decimal("0.0005") * answer.inference_units * answer.billed_seconds
    assert answer.total_cost == answer.inference_cost + Decimal(3) * training + Decimal("0.5") * months


@pytest.mark.parametrize(("body", "field"), [
    ({"hours_per_day": 12}, "characters_per_second"),
    ({"characters_per_second": 60, "characters_per_message": 10, "messages_per_minute": 6, "hours_per_day": 1},
     "characters_per_second"),
    ({"characters_per_message": 10, "hours_per_day": 1}, "messages_per_minute"),
    ({"messages_per_minute": 10, "hours_per_day": 1}, "characters_per_message"),
    ({"characters_per_second": 60}, "hours_per_day"),
    ({"characters_per_second": 60, "hours_per_day": 1, "seconds": 60}, "seconds"),
    ({"characters_per_second": 60, "seconds": 60, "days": 2}, "days"),
    ({"characters_per_message": 1_000_000, "messages_per_minute": 1_000_000, "hours_per_day": 1},
     "messages_per_minute"),
])
def test_cross_field_rules_name_the_field(body, field):
    with pytest.raises(ValueError) as raised:
        EndpointEstimateRequest.model_validate(body)
    cause = raised.value.errors()[0]["ctx"]["error"]
    assert isinstance(cause, FieldProblem)
    assert cause.field == field


def test_published_pii_example():
    answer = pii(records=10_000, characters_per_field=500, fields_per_record=1, records_with_pii=50)
    assert answer.contains_units == 50_000
    assert answer.contains_cost == Decimal("0.1")
    assert answer.detect_units == 250
    assert answer.detect_cost == Decimal("0.025")
    assert answer.total_cost == Decimal("0.125")
    assert answer.model_dump(mode="json")["total_cost"] == "0.125"
    assert answer.saving_from_grouping_fields == 0


def test_grouping_short_fields_avoids_the_3_unit_minimum():
    alone = pii(records=10_000, characters_per_field=50, fields_per_record=12, records_with_pii=50)
    grouped = pii(records=10_000, characters_per_field=50, fields_per_record=12, records_with_pii=50,
                  fields_per_request=6)
    # Alone: 12 requests of 50 characters, each billed 3 units. Grouped: 2 requests of 300 characters.
    assert (alone.units_per_record, grouped.units_per_record) == (36, 6)
    assert alone.total_cost == Decimal("0.000002") * 36 * 10_000 + Decimal("0.0001") * 36 * 50
    assert grouped.total_cost == Decimal("0.000002") * 6 * 10_000 + Decimal("0.0001") * 6 * 50
    assert grouped.one_field_per_request_cost == alone.total_cost
    assert grouped.saving_from_grouping_fields == alone.total_cost - grouped.total_cost == Decimal("0.75")
    assert any("sending 6 fields per request would avoid it" in w for w in alone.warnings)
    assert grouped.warnings == []


def test_last_request_of_a_record_takes_the_remaining_fields():
    # 5 fields of 100 characters, 2 per request: 200 + 200 + 100 characters, 3 units each.
    assert units_per_record(100, 5, 2, PRICES) == (3, 9)
    # 5 fields of 150 characters, 4 per request: 600 characters (6 units) + 150 characters (3 units).
    assert units_per_record(150, 5, 4, PRICES) == (2, 9)
    # Asking for more fields per request than a record has sends the record whole.
    assert units_per_record(150, 5, 50, PRICES) == (1, 8)


@given(
    characters=st.integers(min_value=1, max_value=5_000),
    fields=st.integers(min_value=1, max_value=20),
    group=st.integers(min_value=1, max_value=20),
)
def test_grouping_never_costs_more_than_one_field_per_request(characters, fields, group):
    if min(group, fields) * characters > 100_000:
        return
    requests, units = units_per_record(characters, fields, group, PRICES)
    _, alone = units_per_record(characters, fields, 1, PRICES)
    assert requests == math.ceil(fields / min(group, fields))
    assert units <= alone
    assert units * 100 >= fields * characters


@pytest.mark.parametrize(("body", "field"), [
    ({"records": 10, "characters_per_field": 500, "fields_per_record": 1, "records_with_pii": 11}, "records_with_pii"),
    ({"records": 10, "characters_per_field": 60_000, "fields_per_record": 2, "records_with_pii": 1,
      "fields_per_request": 2}, "fields_per_request"),
])
def test_pii_rules_name_the_field(body, field):
    with pytest.raises(ValueError) as raised:
        PiiEstimateRequest.model_validate(body)
    assert raised.value.errors()[0]["ctx"]["error"].field == field
