"""Amazon Comprehend price table (versioned: as-of date, source, region) and the unit arithmetic
more than one service needs: PII API units per request, inference units for a throughput, billed
seconds of an endpoint. Prices never live in logic; money is always `Decimal`.

Example:
    >>> from pitwall_shared import pricing
    >>> prices = pricing.current_prices()
    >>> pricing.pii_units(500, prices), pricing.inference_units(60, prices), pricing.billed_seconds(12)
    (5, 1, 60)
    >>> pricing.decimal_string(pricing.endpoint_cost(1, 43_200, prices))
    '21.6'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

__all__ = [
    "ComprehendPrices",
    "PRICE_TABLES",
    "current_prices",
    "pii_units",
    "inference_units",
    "billed_seconds",
    "endpoint_cost",
    "decimal_string",
]

Number = int | Decimal | Fraction


@dataclass(frozen=True, slots=True)
class ComprehendPrices:
    """One published version of Comprehend's prices in one region (USD)."""

    version: str
    as_of: date
    source: str
    region: str
    currency: str
    # Custom real-time endpoints.
    characters_per_second_per_inference_unit: int
    inference_unit_second: Decimal
    endpoint_minimum_billed_seconds: int
    endpoint_minimum_inference_units: int
    endpoint_inference_units_default_quota: int
    training_hour: Decimal
    model_management_month: Decimal
    # PII APIs (ContainsPiiEntities / DetectPiiEntities).
    pii_characters_per_unit: int
    pii_minimum_units_per_request: int
    contains_pii_unit: Decimal
    detect_pii_unit: Decimal


# Facts from the Amazon Comprehend pricing page (https://aws.amazon.com/comprehend/pricing/),
# US East (N. Virginia), as quoted in Pitwall issue 2, including the two custom-endpoint examples
# and the PII example that tests reproduce. Add a new version rather than editing one in place:
# estimates name the version they were priced with.
PRICE_TABLES: dict[str, ComprehendPrices] = {
    "2026-11-us-east-1": ComprehendPrices(
        version="2026-11-us-east-1",
        as_of=date(2026, 11, 22),
        source="https://aws.amazon.com/comprehend/pricing/",
        region="us-east-1",
        currency="USD",
        characters_per_second_per_inference_unit=100,
        inference_unit_second=Decimal("0.0005"),
        endpoint_minimum_billed_seconds=60,
        endpoint_minimum_inference_units=1,
        endpoint_inference_units_default_quota=10,
        training_hour=Decimal("3.00"),
        model_management_month=Decimal("0.50"),
        pii_characters_per_unit=100,
        pii_minimum_units_per_request=3,
        contains_pii_unit=Decimal("0.000002"),
        detect_pii_unit=Decimal("0.0001"),
    ),
}

CURRENT_VERSION = "2026-11-us-east-1"


def current_prices(region: str = "us-east-1") -> ComprehendPrices:
    """The newest price table for `region`; `KeyError` naming the region when none is known."""
    candidates = [p for p in PRICE_TABLES.values() if p.region == region]
    if not candidates:
        raise KeyError(f"no Comprehend price table for region {region!r}")
    return max(candidates, key=lambda p: p.as_of)


def _exact(value: Number) -> Fraction:
    # Fraction keeps ceilings exact for any Decimal (no context rounding on huge or tiny values).
    if isinstance(value, bool):
        raise TypeError("a bool is not a quantity")
    return Fraction(value)


def pii_units(characters: int, prices: ComprehendPrices | None = None) -> int:
    """Billed units of one PII API request of `characters` characters.

    Units are 100 characters, rounded up, with a 3-unit minimum per request:
    >>> pii_units(1), pii_units(301), pii_units(500)
    (3, 4, 5)
    """
    prices = prices or current_prices()
    if isinstance(characters, bool) or not isinstance(characters, int) or characters < 0:
        raise ValueError("characters must be a non-negative integer")
    units = -(-characters // prices.pii_characters_per_unit)
    return max(prices.pii_minimum_units_per_request, units)


def inference_units(characters_per_second: Number, prices: ComprehendPrices | None = None) -> int:
    """Inference units an endpoint needs for a throughput (1 IU = 100 characters per second).

    At least the endpoint minimum (1 IU), even with no traffic:
    >>> inference_units(0), inference_units(60), inference_units(100), inference_units(Decimal("100.01"))
    (1, 1, 1, 2)
    """
    prices = prices or current_prices()
    throughput = _exact(characters_per_second)
    if throughput < 0:
        raise ValueError("characters_per_second must not be negative")
    units = math.ceil(throughput / prices.characters_per_second_per_inference_unit)
    return max(prices.endpoint_minimum_inference_units, units)


def billed_seconds(seconds: Number, prices: ComprehendPrices | None = None) -> int:
    """Seconds billed for one provisioning of an endpoint: per started second, 60 s minimum.

    >>> billed_seconds(1), billed_seconds(60), billed_seconds(Decimal("60.2")), billed_seconds(43_200)
    (60, 60, 61, 43200)
    """
    prices = prices or current_prices()
    duration = _exact(seconds)
    if duration <= 0:
        raise ValueError("seconds must be greater than 0")
    return max(prices.endpoint_minimum_billed_seconds, math.ceil(duration))


def endpoint_cost(units: int, seconds_billed: int, prices: ComprehendPrices | None = None) -> Decimal:
    """Cost of `units` inference units over already-billed seconds (see `billed_seconds`)."""
    prices = prices or current_prices()
    return prices.inference_unit_second * units * seconds_billed


def decimal_string(amount: Decimal) -> str:
    """A decimal as a plain, unrounded string without trailing zeros or exponent.

    >>> decimal_string(Decimal("21.6000")), decimal_string(Decimal("108.0000")), decimal_string(Decimal("0.125"))
    ('21.6', '108', '0.125')
    """
    if not amount.is_finite():
        raise ValueError("amount must be finite")
    if amount == 0:
        return "0"
    # Strip trailing zeros by hand: Decimal.normalize() would round to the context precision.
    sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    digit_list = list(digits)
    while exponent < 0 and digit_list[-1] == 0:
        digit_list.pop()
        exponent += 1
    return format(Decimal((sign, tuple(digit_list), exponent)), "f")
