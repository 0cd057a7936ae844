"""Schemathesis against the published OpenAPI documents (issue 8, bad input 2): requests generated
from docs/openapi/<service>.yaml — valid ones and ones that break the schema — go through the local
cloud's API gateway to the deployed functions. No request may get a 5xx; every 4xx must name the
problem the same way in both services (`errors[].field`, `reason`, `kind` and `problems` as
"field: reason", the shared refusal); a 200 must match the documented response schema."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.hypothesis_profiles import examples

pytestmark = pytest.mark.system

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi"
COST = schemathesis.openapi.from_path(DOCS / "cost_calculator.yaml")
RACE = schemathesis.openapi.from_path(DOCS / "race_predictor.yaml")
EXAMPLES = settings(max_examples=examples(25), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


def _names_the_problem(response) -> None:
    status = response.status_code
    assert status < 500, f"{status} for {response.request.method} {response.request.url}: {response.text[:300]}"
    if status < 400:
        return
    body = response.json()
    if status in (400, 415):
        # The shared refusal of every service (pitwall_shared.refusals): both shapes in one body.
        assert body["error"] == "invalid_request", body
        assert body["errors"] and all(e["field"] and e["reason"] and e["kind"] for e in body["errors"]), body
        assert body["problems"] and all(": " in p and p.split(": ", 1)[0] for p in body["problems"]), body
    elif status == 404:
        assert body.get("error") == "not_found", body
    elif "Code" in body:
        # Chalice's own refusals before a route runs (405 for a method no route takes, say).
        assert body["Code"] and body["Message"], body
    elif status == 403:
        # The gateway's answer to a path no route matches (a generated id with a '/', say).
        assert body.get("message") == "Missing Authentication Token", body
    else:
        raise AssertionError(f"unexpected {status}: {body}")


@COST.parametrize()
@EXAMPLES
def test_cost_calculator_api(case, cloud):
    response = case.call(base_url=cloud.api_url, timeout=60)
    _names_the_problem(response)
    if response.status_code == 200:
        case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])


@RACE.parametrize()
@EXAMPLES
def test_race_predictor_api(case, cloud):
    response = case.call(base_url=cloud.api_url, timeout=60)
    _names_the_problem(response)
    if response.status_code == 200:
        case.validate_response(response, checks=[schemathesis.checks.response_schema_conformance])
