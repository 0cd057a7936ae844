"""Usage aggregation and rightsizing logic: increments of each event kind, peak / p95 over a
window, the recommendation figures, and one event per change (never per message)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cost_calculator.logic.usage import (
    UnknownDetailType,
    decide_rightsizing,
    minute_of,
    nearest_rank,
    recommend,
    rightsizing_event,
    usage_update,
    window,
)
from pitwall_shared.events import Envelope
from pitwall_shared.pricing import current_prices

PRICES = current_prices()
NOW = datetime(2026, 11, 22, 10, 15, 42, tzinfo=UTC)


def envelope(data, event_id="e-1", occurred_at=NOW):
    return Envelope(event_id=event_id, correlation_id="c-1", occurred_at=occurred_at, schema_version="1", data=data)


def test_comprehend_usage_counts_per_api_and_for_the_endpoint():
    update = usage_update("ComprehendUsage", envelope({
        "endpoint_name": "pii-endpoint",
        "usage": [
            {"api": "ContainsPiiEntities", "requests": 10, "characters": 5000, "billed_units": 50},
            {"api": "DetectPiiEntities", "requests": 2, "characters": 1000, "billed_units": 10},
            {"api": "ContainsPiiEntities", "requests": 1, "characters": 20, "billed_units": 3},
        ],
    }))
    by_scope = {(i.scope, i.name): i for i in update.increments}
    assert by_scope[("pii_api", "ContainsPiiEntities")].counters == {"requests": 11, "characters": 5020, "billed_units": 53}
    assert by_scope[("pii_api", "DetectPiiEntities")].counters == {"requests": 2, "characters": 1000, "billed_units": 10}
    assert by_scope[("endpoint", "pii-endpoint")].counters == {"requests": 13, "characters": 6020}
    assert {i.minute for i in update.increments} == {datetime(2026, 11, 22, 10, 15, tzinfo=UTC)}
    assert update.event_id == "e-1" and update.endpoint_name == "pii-endpoint"


def test_comprehend_usage_without_endpoint_touches_no_endpoint():
    update = usage_update("ComprehendUsage", envelope({
        "usage": [{"api": "DetectPiiEntities", "requests": 1, "characters": 10, "billed_units": 3}]}))
    assert [i.scope for i in update.increments] == ["pii_api"]
    assert update.endpoint_name is None


def test_endpoint_traffic_lands_in_the_minute_it_was_observed():
    update = usage_update("EndpointTraffic", envelope({
        "endpoint_name": "radio", "observed_at": "2026-11-22T09:59:59.999+01:00", "characters": 3000,
        "configured_inference_units": 4,
    }))
    (increment,) = update.increments
    assert increment.minute == datetime(2026, 11, 22, 8, 59, tzinfo=UTC)
    assert increment.counters == {"requests": 0, "characters": 3000}
    assert update.configured_inference_units == 4


@pytest.mark.parametrize(("detail_type", "data", "field"), [
    ("EndpointTraffic", {"endpoint_name": "radio", "observed_at": "2026-11-22T10:00:00Z", "characters": -5}, "characters"),
    ("EndpointTraffic", {"endpoint_name": "bad name!", "observed_at": "2026-11-22T10:00:00Z", "characters": 5},
     "endpoint_name"),
    ("EndpointTraffic", {"endpoint_name": "radio", "characters": 5}, "observed_at"),
    ("ComprehendUsage", {"usage": []}, "usage"),
    ("ComprehendUsage", {"usage": [{"api": "DetectSentiment", "requests": 1, "characters": 1, "billed_units": 3}]},
     "usage.0.api"),
])
def test_malformed_usage_data_names_the_field(detail_type, data, field):
    with pytest.raises(ValidationError) as raised:
        usage_update(detail_type, envelope(data))
    assert ".".join(str(p) for p in raised.value.errors()[0]["loc"]) == field


def test_unknown_detail_type_is_refused():
    with pytest.raises(UnknownDetailType):
        usage_update("PitBattlePredicted", envelope({}))


def test_window_ends_with_the_current_minute():
    first, last = window(NOW, 60)
    assert last == datetime(2026, 11, 22, 10, 15, tzinfo=UTC)
    assert first == last - timedelta(minutes=59)
    assert minute_of(datetime(2026, 1, 1, 0, 0, 59)) == datetime(2026, 1, 1, tzinfo=UTC)


def test_nearest_rank_percentile():
    values = [Decimal(v) for v in range(1, 101)]
    assert nearest_rank(values, Decimal("0.95")) == 95
    assert nearest_rank([Decimal(7)], Decimal("0.95")) == 7


def minutes(counts, end=NOW):
    """Per-minute character counts ending with the minute of `end` (oldest first)."""
    last = minute_of(end)
    return {last - timedelta(minutes=len(counts) - 1 - i): c for i, c in enumerate(counts) if c is not None}


def test_recommendation_from_peak_and_p95():
    # 60 minutes: 56 quiet minutes at 60 chars/s, 4 busy ones at 450 chars/s (27,000 characters).
    counts = [3600] * 56 + [27_000] * 4
    answer = recommend("radio", minutes(counts), NOW, 60, configured=8, prices=PRICES)
    assert answer.peak_characters_per_second == 450
    assert answer.p95_characters_per_second == 450  # rank 57 of 60 is already a busy minute
    assert answer.inference_units_for_peak == answer.recommended_inference_units == 5
    assert answer.status == "over_provisioned"
    assert answer.projected_daily_saving == Decimal("0.0005") * 3 * 86_400 == Decimal("129.6")
    assert answer.projected_daily_shortfall == 0
    assert answer.observed_minutes == 60


def test_p95_ignores_a_single_spike_but_the_recommendation_serves_it():
    counts = [3600] * 59 + [60_000]
    answer = recommend("radio", minutes(counts), NOW, 60, configured=2, prices=PRICES)
    assert answer.peak_characters_per_second == 1000
    assert answer.p95_characters_per_second == 60
    assert (answer.inference_units_for_p95, answer.recommended_inference_units) == (1, 10)
    assert answer.status == "under_provisioned"
    assert answer.projected_daily_shortfall == Decimal("0.0005") * 8 * 86_400
    assert answer.projected_daily_saving == 0
    assert any("95% of minutes" in w for w in answer.warnings)
    assert not any("quota" in w for w in answer.warnings)


def test_recommendation_beyond_one_endpoints_quota_says_so():
    answer = recommend("radio", minutes([90_000]), NOW, 60, configured=10, prices=PRICES)
    assert answer.recommended_inference_units == 15
    assert any("2 endpoints" in w and "quota increase to 15" in w for w in answer.warnings)


def test_minutes_without_reports_count_as_no_traffic():
    answer = recommend("radio", minutes([6000]), NOW, 60, configured=1, prices=PRICES)
    assert answer.observed_minutes == 1
    assert answer.peak_characters_per_second == 100
    assert answer.p95_characters_per_second == 0
    assert answer.status == "right_sized"
    assert answer.projected_daily_saving == answer.projected_daily_shortfall == 0


def test_minutes_outside_the_window_are_ignored():
    data = minutes([600_000, 60], end=NOW)
    answer = recommend("radio", data, NOW, 1, configured=1, prices=PRICES)
    assert answer.peak_characters_per_second == 1


def test_unknown_configuration_gives_no_saving():
    answer = recommend("radio", {}, NOW, 60, configured=None, prices=PRICES)
    assert answer.status == "unknown_configuration"
    assert answer.projected_daily_saving is None and answer.projected_daily_shortfall is None
    assert answer.recommended_inference_units == 1
    assert any("no traffic" in w for w in answer.warnings)


def test_repeating_rates_stay_exact_enough_to_size():
    # 6,001 characters in a minute is 100.0166... characters per second: two units.
    answer = recommend("radio", minutes([6001]), NOW, 5, configured=1, prices=PRICES)
    assert answer.recommended_inference_units == 2
    assert str(answer.peak_characters_per_second).startswith("100.01666")


def test_rightsizing_event_payload():
    answer = recommend("radio", minutes([3600] * 60), NOW, 60, configured=4, prices=PRICES)
    decision = decide_rightsizing(None, 4, answer.recommended_inference_units)
    data = rightsizing_event(answer, decision.state).model_dump(mode="json")
    assert data["direction"] == "scale_down"
    assert data["projected_daily_saving"] == "129.6"
    assert data["sequence"] == 1


def test_decisions_publish_once_per_change():
    first = decide_rightsizing(None, 5, 1)
    assert first.write_state and first.publish and first.state.sequence == 1
    published = first.state.model_copy(update={"published": True})
    same = decide_rightsizing(published, 5, 1)
    assert not same.write_state and not same.publish
    # A failed publish leaves the state unpublished: the next message republishes it, same sequence.
    retry = decide_rightsizing(first.state, 5, 1)
    assert retry.publish and not retry.write_state and retry.state.sequence == 1
    other = decide_rightsizing(published, 5, 2)
    assert other.publish and other.state.sequence == 2
    settled = decide_rightsizing(published, 5, 5)
    assert settled.write_state and not settled.publish and settled.state.published
    assert not decide_rightsizing(None, 3, 3).write_state


@given(st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), max_size=40))
def test_a_stream_of_recommendations_publishes_exactly_at_each_change(stream):
    state, published = None, []
    for configured, recommended in stream:
        decision = decide_rightsizing(state, configured, recommended)
        if decision.write_state:
            state = decision.state
        if decision.publish:
            published.append((configured, recommended))
            state = state.model_copy(update={"published": True})
    expected = [pair for i, pair in enumerate(stream)
                if pair[0] != pair[1] and (i == 0 or stream[i - 1] != pair)]
    assert published == expected
