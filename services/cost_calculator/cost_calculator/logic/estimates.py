"""Cost estimates for a Comprehend custom real-time endpoint and for the PII APIs, priced with a
`ComprehendPrices` table. Pure: the same request and table always give the same answer.

Billing interpretation that reproduces AWS's published examples: `hours_per_day` is one provisioning
per day (created, then deleted after that many hours), priced for `days` days (default 1), each
billed per second with the 60-second minimum; training and management are added once.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from cost_calculator.models import EndpointEstimate, EndpointEstimateRequest, PiiEstimate, PiiEstimateRequest
from pitwall_shared.pricing import ComprehendPrices, billed_seconds, endpoint_cost, inference_units, pii_units

SECONDS_PER_HOUR = 3_600


def _exact_throughput(request: EndpointEstimateRequest) -> Fraction:
    if request.characters_per_second is not None:
        return Fraction(request.characters_per_second)
    assert request.characters_per_message is not None and request.messages_per_minute is not None
    return Fraction(request.characters_per_message) * Fraction(request.messages_per_minute) / 60


def quota_warnings(units: int, prices: ComprehendPrices) -> list[str]:
    """Say how to serve more inference units than one endpoint's default quota allows."""
    quota = prices.endpoint_inference_units_default_quota
    if units <= quota:
        return []
    endpoints = math.ceil(units / quota)
    return [
        f"{units} inference units exceed one endpoint's default quota of {quota}: split the traffic "
        f"over {endpoints} endpoints or request a quota increase to {units} inference units"
    ]


def estimate_endpoint(request: EndpointEstimateRequest, prices: ComprehendPrices) -> EndpointEstimate:
    """Size and price one endpoint for the request's throughput and provisioning time."""
    throughput = _exact_throughput(request)
    units = inference_units(throughput, prices)
    warnings = quota_warnings(units, prices)
    if throughput == 0:
        # An endpoint with no traffic still bills its provisioned minimum (Comprehend pricing:
        # "endpoints are billed ... a minimum of 1 IU", https://aws.amazon.com/comprehend/pricing/).
        warnings.append(f"no traffic (0 characters per second): an idle endpoint still bills its "
                        f"{prices.endpoint_minimum_inference_units}-inference-unit minimum; delete it when unused")
    if request.hours_per_day is not None:
        per_provisioning = request.hours_per_day * SECONDS_PER_HOUR
        seconds = billed_seconds(per_provisioning, prices) * (request.days or 1)
    else:
        assert request.seconds is not None
        per_provisioning = request.seconds
        seconds = billed_seconds(per_provisioning, prices)
    if per_provisioning < prices.endpoint_minimum_billed_seconds:
        warnings.append(
            f"provisioned for {per_provisioning} s but billed for the "
            f"{prices.endpoint_minimum_billed_seconds}-second minimum"
        )
    inference_cost = endpoint_cost(units, seconds, prices)
    training_cost = prices.training_hour * request.training_hours
    management_cost = prices.model_management_month * request.management_months
    return EndpointEstimate(
        characters_per_second=request.throughput(),
        inference_units=units,
        endpoints_at_default_quota=math.ceil(units / prices.endpoint_inference_units_default_quota),
        billed_seconds=seconds,
        inference_cost=inference_cost,
        training_cost=training_cost,
        management_cost=management_cost,
        total_cost=inference_cost + training_cost + management_cost,
        warnings=warnings,
        price_version=prices.version,
    )


def units_per_record(characters_per_field: int, fields_per_record: int, fields_per_request: int,
                     prices: ComprehendPrices) -> tuple[int, int]:
    """(requests, billed units) to send one record's fields, `fields_per_request` at a time.

    Fields are grouped within a record (a request never mixes records); the last request of a
    record takes the remaining fields.
    """
    group = min(fields_per_request, fields_per_record)
    full_requests, remaining_fields = divmod(fields_per_record, group)
    units = full_requests * pii_units(group * characters_per_field, prices)
    if remaining_fields:
        units += pii_units(remaining_fields * characters_per_field, prices)
    return full_requests + (1 if remaining_fields else 0), units


def _pii_cost(units: int, records: int, records_with_pii: int, prices: ComprehendPrices) -> Decimal:
    return prices.contains_pii_unit * units * records + prices.detect_pii_unit * units * records_with_pii


def estimate_pii(request: PiiEstimateRequest, prices: ComprehendPrices) -> PiiEstimate:
    """Price screening every record with ContainsPiiEntities, then DetectPiiEntities on the records
    that hold PII (the same requests sent again), and what grouping fields saves."""
    requests, units = units_per_record(
        request.characters_per_field, request.fields_per_record, request.fields_per_request, prices
    )
    contains_units = units * request.records
    detect_units = units * request.records_with_pii
    contains_cost = prices.contains_pii_unit * contains_units
    detect_cost = prices.detect_pii_unit * detect_units
    total = contains_cost + detect_cost
    _, single_units = units_per_record(request.characters_per_field, request.fields_per_record, 1, prices)
    single_cost = _pii_cost(single_units, request.records, request.records_with_pii, prices)
    warnings = []
    minimum_characters = prices.pii_minimum_units_per_request * prices.pii_characters_per_unit
    group = min(request.fields_per_request, request.fields_per_record)
    if group * request.characters_per_field < minimum_characters:
        needed = math.ceil(minimum_characters / request.characters_per_field)
        advice = (
            f"; sending {needed} fields per request would avoid it"
            if needed <= request.fields_per_record
            else "; records have too few fields to reach it"
        )
        warnings.append(
            f"each request of {group * request.characters_per_field} characters is billed the "
            f"{prices.pii_minimum_units_per_request}-unit minimum ({minimum_characters} characters){advice}"
        )
    return PiiEstimate(
        requests_per_record=requests,
        units_per_record=units,
        contains_requests=requests * request.records,
        contains_units=contains_units,
        contains_cost=contains_cost,
        detect_requests=requests * request.records_with_pii,
        detect_units=detect_units,
        detect_cost=detect_cost,
        total_cost=total,
        one_field_per_request_cost=single_cost,
        saving_from_grouping_fields=single_cost - total,
        warnings=warnings,
        price_version=prices.version,
    )
