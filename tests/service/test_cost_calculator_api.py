"""The cost calculator's HTTP API in-process (chalice.test.Client, and the sample API Gateway
events through the Lambda entry point), with moto behind the recommendation route: published
examples, decimal strings, quota warnings, the traffic plan, and 400s (never 500s) for bad input."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

os.environ.setdefault("USAGE_TABLE_NAME", "pitwall-cost-usage-test")
os.environ.setdefault("EVENT_BUS_NAME", "pitwall-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cost_calculator import factory  # noqa: E402
from cost_calculator.api import app  # noqa: E402
from cost_calculator.settings import ApiSettings  # noqa: E402
from pitwall_shared.settings import SettingsError, load_settings  # noqa: E402
from tests.hypothesis_profiles import examples  # noqa: E402
from tests.service.test_cost_calculator_consumer import ENDPOINT, consume, traffic, usage_cloud  # noqa: E402

EVENTS = Path(__file__).resolve().parents[2] / "events" / "cost_calculator"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def cloud(monkeypatch):
    with usage_cloud(monkeypatch) as resources:
        yield resources


@pytest.fixture(scope="module")
def client():
    with Client(app) as test_client:
        yield test_client


def post(client, path, body):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.http.post(path, headers=JSON, body=text)


def test_published_endpoint_examples_over_http(client):
    small = post(client, "/estimates/endpoint",
                 {"characters_per_message": 360, "messages_per_minute": 10, "hours_per_day": 12})
    large = post(client, "/estimates/endpoint",
                 {"characters_per_message": 600, "messages_per_minute": 50, "hours_per_day": 12})
    assert small.status_code == large.status_code == 200
    assert small.json_body["characters_per_second"] == "60" and small.json_body["inference_units"] == 1
    assert Decimal(small.json_body["inference_cost"]) == Decimal("21.60")
    assert Decimal(small.json_body["total_cost"]) == Decimal("25.10")
    assert large.json_body["characters_per_second"] == "500" and large.json_body["inference_units"] == 5
    assert Decimal(large.json_body["inference_cost"]) == Decimal("108.00")
    assert Decimal(large.json_body["total_cost"]) == Decimal("111.50")
    assert all(isinstance(small.json_body[k], str) for k in ("inference_cost", "training_cost", "total_cost"))


def test_published_pii_example_over_http(client):
    answer = post(client, "/estimates/pii",
                  {"records": 10_000, "characters_per_field": 500, "fields_per_record": 1, "records_with_pii": 50})
    assert answer.status_code == 200
    body = answer.json_body
    assert (body["contains_units"], body["contains_cost"]) == (50_000, "0.1")
    assert (body["detect_units"], body["detect_cost"]) == (250, "0.025")
    assert body["total_cost"] == "0.125"


def test_fractional_numbers_are_read_exactly(client):
    # 0.1 + 0.2 as floats is 0.30000000000000004; as decimals the bill stays exact.
    answer = post(client, "/estimates/endpoint", '{"characters_per_second": 0.1, "seconds": 3600.2, '
                                                 '"training_hours": 0.1, "management_months": 0.2}')
    assert answer.status_code == 200
    assert answer.json_body["billed_seconds"] == 3601
    assert answer.json_body["training_cost"] == "0.3"
    assert answer.json_body["management_cost"] == "0.1"


def test_quota_warning_over_http(client):
    answer = post(client, "/estimates/endpoint", {"characters_per_second": 2500, "seconds": 3600})
    assert answer.json_body["inference_units"] == 25
    assert any("3 endpoints" in w and "quota increase to 25" in w for w in answer.json_body["warnings"])


def test_an_idle_endpoint_is_answered_with_its_minimum_and_a_warning(client):
    # Issue 16.9: 0 characters per second is a valid question (an endpoint left running with no
    # traffic); it bills the 1-IU minimum: 3,600 s x $0.0005 per IU-second = $1.80.
    answer = post(client, "/estimates/endpoint", {"characters_per_second": 0, "seconds": 3600,
                                                  "training_hours": 0, "management_months": 0})
    assert answer.status_code == 200, answer.json_body
    body = answer.json_body
    assert (body["inference_units"], body["billed_seconds"], body["inference_cost"]) == (1, 3600, "1.8")
    assert any("idle endpoint still bills" in warning for warning in body["warnings"])


def test_traffic_plan_over_http(client):
    answer = post(client, "/estimates/traffic", {"characters_per_second": [40] * 8 + [450] * 10 + [120] * 6})
    assert answer.status_code == 200
    body = answer.json_body
    assert body["cheaper_plan"] == "hourly_schedule"
    assert body["fixed"]["cost"] == "216" and body["hourly_schedule"]["cost"] == "126"
    assert [step["inference_units"] for step in body["schedule"]] == [1, 5, 2]


@pytest.mark.parametrize(("path", "body", "field", "reason"), [
    ("/estimates/endpoint", {"characters_per_message": 360, "messages_per_minute": -10, "hours_per_day": 12},
     "messages_per_minute", "greater than 0"),
    ("/estimates/endpoint", {"characters_per_message": 0, "messages_per_minute": 10, "hours_per_day": 12},
     "characters_per_message", "greater than 0"),
    ("/estimates/endpoint", {"characters_per_second": "sixty", "hours_per_day": 12}, "characters_per_second",
     "must be a number"),
    ("/estimates/endpoint", {"characters_per_second": "60", "hours_per_day": 12}, "characters_per_second",
     "must be a number"),
    ("/estimates/endpoint", {"characters_per_second": True, "hours_per_day": 12}, "characters_per_second",
     "must be a number"),
    ("/estimates/endpoint", {"characters_per_second": None, "hours_per_day": 12}, "characters_per_second",
     "required"),
    ("/estimates/endpoint", {"characters_per_second": 60, "hours_per_day": 25}, "hours_per_day", "less than or equal"),
    ("/estimates/endpoint", {"characters_per_second": 1e12, "hours_per_day": 1}, "characters_per_second",
     "less than or equal"),
    ("/estimates/endpoint", {"characters_per_second": 60, "seconds": 0}, "seconds", "greater than 0"),
    ("/estimates/endpoint", {"characters_per_second": 60}, "hours_per_day", "required"),
    ("/estimates/endpoint", {"characters_per_second": 60, "hours_per_day": 1, "hours": 2}, "hours", "unknown field"),
    ("/estimates/endpoint", {"characters_per_second": [60], "hours_per_day": 1}, "characters_per_second",
     "must be a number"),
    ("/estimates/endpoint", {"characters_per_second": 60, "hours_per_day": 1, "training_hours": -1},
     "training_hours", "greater than or equal to 0"),
    ("/estimates/pii", {"records": 10, "characters_per_field": 500, "fields_per_record": 1}, "records_with_pii",
     "required"),
    ("/estimates/pii", {"records": 10.5, "characters_per_field": 500, "fields_per_record": 1, "records_with_pii": 1},
     "records", "integer"),
    ("/estimates/pii", {"records": 10, "characters_per_field": 500, "fields_per_record": 1, "records_with_pii": 20},
     "records_with_pii", "must not exceed records"),
    ("/estimates/pii", {"records": 10, "characters_per_field": 10**9, "fields_per_record": 1, "records_with_pii": 1},
     "characters_per_field", "less than or equal"),
    ("/estimates/traffic", {"characters_per_second": [1] * 23}, "characters_per_second", "24 hourly or 1440"),
    ("/estimates/traffic", {"characters_per_second": [1] * 23 + [-1]}, "characters_per_second[23]",
     "greater than or equal to 0"),
    ("/estimates/traffic", {}, "characters_per_second", "required"),
])
def test_bad_input_is_a_400_naming_the_field_and_reason(client, path, body, field, reason):
    answer = post(client, path, body)
    assert answer.status_code == 400
    errors = answer.json_body["errors"]
    assert any(e["field"] == field and reason in e["reason"] for e in errors), errors


@pytest.mark.parametrize("text", [
    '{"characters_per_second": 60,', "not json", "", "[]", "42", '"text"', "null",
    '{"characters_per_second": NaN, "seconds": 60}', '{"characters_per_second": Infinity, "seconds": 60}',
    '{"characters_per_second": 1' + "0" * 5000 + ', "seconds": 60}', "[" * 100_000 + "]" * 100_000,
    '{"characters_per_second": 1e999999, "seconds": 60}', '{"characters_per_second": 1e-999999, "seconds": 60}',
])
def test_malformed_or_absurd_bodies_are_400s(client, text):
    answer = post(client, "/estimates/endpoint", text)
    assert answer.status_code == 400
    assert answer.json_body["errors"][0]["field"] in {"body", "characters_per_second"}


def test_errors_do_not_echo_the_input(client):
    answer = post(client, "/estimates/pii", {"records": "Jane Doe", "characters_per_field": 1,
                                             "fields_per_record": 1, "records_with_pii": 0})
    assert answer.status_code == 400 and "Jane" not in answer.body.decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from([
    "characters_per_second", "characters_per_message", "messages_per_minute", "hours_per_day", "seconds", "days",
    "training_hours", "management_months", "records", "characters_per_field", "fields_per_record",
    "records_with_pii", "fields_per_request",
])


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(path=st.sampled_from(["/estimates/endpoint", "/estimates/pii", "/estimates/traffic"]),
       body=st.dictionaries(field_names, json_values, max_size=6) | json_values)
def test_no_body_makes_a_500(client, path, body):
    answer = post(client, path, body)
    assert answer.status_code in (200, 400), answer.body


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("api_estimate_*.json")))
def test_sample_api_gateway_events_through_the_lambda_entry_point(name):
    event = json.loads((EVENTS / name).read_text())
    response = app(event, None)
    body = json.loads(response["body"])
    if "malformed" in name or "negative" in name:
        assert response["statusCode"] == 400
        assert body["errors"][0]["field"] in {"body", "messages_per_minute"}
    else:
        assert response["statusCode"] == 200
        assert "total_cost" in body or "schedule" in body


def test_recommendation_from_observed_usage(cloud, client):
    consume(traffic("r-0", 30_000, configured=8), traffic("r-1", 6_000))
    answer = client.http.get(f"/endpoints/{ENDPOINT}/recommendation?window_minutes=60")
    assert answer.status_code == 200
    body = answer.json_body
    assert body["peak_characters_per_second"] == "600"  # 36,000 characters in the same minute
    assert body["recommended_inference_units"] == 6
    assert body["configured_inference_units"] == 8
    assert body["status"] == "over_provisioned"
    assert body["projected_daily_saving"] == "86.4"  # 2 IUs x $0.0005 x 86,400 s
    assert body["projected_daily_shortfall"] == "0"
    assert body["window_minutes"] == 60 and body["observed_minutes"] == 1


def test_recommendation_configured_by_a_table_item(cloud, client):
    cloud["dynamodb"].put_item(TableName=factory.store().table_name, Item={
        "pk": {"S": "ENDPOINT#quiet-endpoint"}, "sk": {"S": "CONFIG"}, "configured_inference_units": {"N": "3"}})
    body = client.http.get("/endpoints/quiet-endpoint/recommendation").json_body
    assert (body["configured_inference_units"], body["recommended_inference_units"]) == (3, 1)
    assert body["status"] == "over_provisioned" and body["window_minutes"] == 60


def test_recommendation_for_an_unknown_endpoint(cloud, client):
    body = client.http.get("/endpoints/never-seen/recommendation").json_body
    assert body["status"] == "unknown_configuration"
    assert body["projected_daily_saving"] is None and body["observed_minutes"] == 0


@pytest.mark.parametrize(("path", "field"), [
    (f"/endpoints/{'x' * 41}/recommendation", "name"),
    ("/endpoints/bad_name/recommendation", "name"),
    (f"/endpoints/{ENDPOINT}/recommendation?window_minutes=0", "window_minutes"),
    (f"/endpoints/{ENDPOINT}/recommendation?window_minutes=1441", "window_minutes"),
    (f"/endpoints/{ENDPOINT}/recommendation?window_minutes=abc", "window_minutes"),
    (f"/endpoints/{ENDPOINT}/recommendation?window=5", "window"),
])
def test_bad_recommendation_queries_are_400s(client, path, field):
    answer = client.http.get(path)
    assert answer.status_code == 400
    assert answer.json_body["errors"][0]["field"] == field


def test_missing_table_setting_fails_at_start_naming_the_variable(monkeypatch):
    monkeypatch.delenv("USAGE_TABLE_NAME")
    with pytest.raises(SettingsError, match="USAGE_TABLE_NAME"):
        load_settings(ApiSettings)

