"""The shared Comprehend price table and unit arithmetic: billing minimums, rounding edges, and
decimal strings that never round."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pitwall_shared import pricing
from pitwall_shared.pricing import billed_seconds, decimal_string, inference_units, pii_units

PRICES = pricing.current_prices()


def test_price_table_is_versioned_with_date_source_and_region():
    assert PRICES.version in pricing.PRICE_TABLES
    assert isinstance(PRICES.as_of, date)
    assert PRICES.source.startswith("https://aws.amazon.com/comprehend/pricing")
    assert PRICES.region == "us-east-1"
    assert PRICES.inference_unit_second == Decimal("0.0005")
    assert (PRICES.contains_pii_unit, PRICES.detect_pii_unit) == (Decimal("0.000002"), Decimal("0.0001"))
    assert (PRICES.training_hour, PRICES.model_management_month) == (Decimal("3.00"), Decimal("0.50"))


def test_unknown_region_is_named():
    with pytest.raises(KeyError, match="eu-west-9"):
        pricing.current_prices("eu-west-9")


@pytest.mark.parametrize(("characters", "units"), [
    (0, 3), (1, 3), (299, 3), (300, 3), (301, 4), (399, 4), (400, 4), (401, 5), (500, 5), (100_000, 1_000),
])
def test_pii_units_round_up_per_100_characters_with_3_unit_minimum(characters, units):
    assert pii_units(characters, PRICES) == units


@given(st.integers(min_value=0, max_value=10**9))
def test_pii_units_cover_the_request_and_never_overcharge_beyond_the_minimum(characters):
    units = pii_units(characters, PRICES)
    assert units >= 3
    assert units * 100 >= characters
    assert units == 3 or (units - 1) * 100 < characters


@pytest.mark.parametrize("bad", [-1, True, 1.5, "300"])
def test_pii_units_refuse_non_counts(bad):
    with pytest.raises((ValueError, TypeError)):
        pii_units(bad, PRICES)


@pytest.mark.parametrize(("throughput", "units"), [
    (0, 1), (1, 1), (60, 1), (100, 1), (Decimal("100.000001"), 2), (500, 5), (501, 6), (1000, 10), (1001, 11),
    (Fraction(3600, 60), 1),
])
def test_inference_units_are_100_characters_per_second_at_least_one(throughput, units):
    assert inference_units(throughput, PRICES) == units


@given(st.decimals(min_value=0, max_value=10**7, places=6, allow_nan=False, allow_infinity=False))
def test_inference_units_serve_the_throughput_with_no_spare_unit(throughput):
    units = inference_units(throughput, PRICES)
    assert units >= 1
    assert units * 100 >= throughput
    assert units == 1 or (units - 1) * 100 < throughput


def test_inference_units_refuse_negative_throughput():
    with pytest.raises(ValueError):
        inference_units(Decimal("-0.5"), PRICES)


@pytest.mark.parametrize(("seconds", "billed"), [
    (Decimal("0.001"), 60), (1, 60), (59, 60), (Decimal("59.999"), 60), (60, 60), (Decimal("60.000001"), 61),
    (61, 61), (43_200, 43_200), (86_400, 86_400),
])
def test_billed_seconds_per_started_second_with_60_second_minimum(seconds, billed):
    assert billed_seconds(seconds, PRICES) == billed


@pytest.mark.parametrize("bad", [0, -1, Decimal("-0.1")])
def test_billed_seconds_need_a_positive_duration(bad):
    with pytest.raises(ValueError):
        billed_seconds(bad, PRICES)


@given(st.decimals(min_value=Decimal("0.000001"), max_value=10**8, places=6))
def test_billed_seconds_bound(seconds):
    billed = billed_seconds(seconds, PRICES)
    assert billed >= 60 and billed >= seconds
    assert billed == 60 or billed - seconds < 1


def test_endpoint_cost_of_published_example():
    assert pricing.endpoint_cost(1, 43_200, PRICES) == Decimal("21.60")
    assert pricing.endpoint_cost(5, 43_200, PRICES) == Decimal("108.00")


@pytest.mark.parametrize(("amount", "text"), [
    (Decimal("0.125"), "0.125"), (Decimal("21.6000"), "21.6"), (Decimal("108.0000"), "108"),
    (Decimal("0"), "0"), (Decimal("0.000"), "0"), (Decimal("1E+3"), "1000"), (Decimal("-2.50"), "-2.5"),
    (Decimal("1E-7"), "0.0000001"),
    (Decimal("1234567890123456789012345678901234.5"), "1234567890123456789012345678901234.5"),
])
def test_decimal_string_is_plain_and_unrounded(amount, text):
    assert decimal_string(amount) == text


@given(st.decimals(min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, allow_infinity=False))
def test_decimal_string_round_trips_exactly(amount):
    text = decimal_string(amount)
    assert "E" not in text.upper()
    assert Decimal(text) == amount
