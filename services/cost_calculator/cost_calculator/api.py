"""HTTP API of the cost calculator (Chalice; deployed as one function behind API Gateway with one
`Api` event per route in template.yaml). Each route only delegates: pricing logic lives in
`logic/`, request plumbing in `http_answers.py`.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from cost_calculator.adapters.usage_store import UsageStore
from cost_calculator.config import ApiSettings
from cost_calculator.http_answers import ANY_CONTENT_TYPE, answer_body, answer_query
from cost_calculator.logic.estimates import estimate_endpoint, estimate_pii
from cost_calculator.logic.traffic import plan_traffic
from cost_calculator.models import (
    EndpointEstimateRequest,
    PiiEstimateRequest,
    RecommendationQuery,
    TrafficProfileRequest,
)
from cost_calculator.usage_service import recommendation_for
from pitwall_shared.observability import observability
from pitwall_shared.pricing import current_prices
from pitwall_shared.settings import load_settings

logger, _metrics, _tracer = observability("cost_calculator")
SETTINGS = load_settings(ApiSettings)
STORE = UsageStore(SETTINGS.usage_table_name)
PRICES = current_prices()

app = Chalice(app_name="cost_calculator", configure_logs=False)


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a route
    return request


def _body() -> bytes | str | None:
    return _request().raw_body


def _headers() -> Any:
    return _request().headers


@app.route("/estimates/endpoint", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def endpoint_estimate() -> Response:
    return answer_body(_body(), _headers(), EndpointEstimateRequest, lambda request: estimate_endpoint(request, PRICES))


@app.route("/estimates/pii", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def pii_estimate() -> Response:
    return answer_body(_body(), _headers(), PiiEstimateRequest, lambda request: estimate_pii(request, PRICES))


@app.route("/estimates/traffic", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def traffic_plan() -> Response:
    return answer_body(_body(), _headers(), TrafficProfileRequest, lambda request: plan_traffic(request, PRICES))


@app.route("/endpoints/{name}/recommendation", methods=["GET"], content_types=ANY_CONTENT_TYPE)  # a GET body is never read
def endpoint_recommendation(name: str) -> Response:
    params = {**(_request().query_params or {}), "name": name}
    return answer_query(params, RecommendationQuery, lambda query: recommendation_for(
        STORE, PRICES, query.name, query.window_minutes))
