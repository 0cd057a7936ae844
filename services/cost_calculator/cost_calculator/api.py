"""HTTP API of the cost calculator (Chalice; deployed as one function behind API Gateway with one
`Api` event per route in template.yaml). Each route is one line: read the request with
`routes/answers.py`, compute with `logic/`, objects from `factory`.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Response
from chalice.app import Request

from cost_calculator import factory
from cost_calculator.logic.estimates import estimate_endpoint, estimate_pii
from cost_calculator.logic.service import recommendation_for
from cost_calculator.logic.traffic import plan_traffic
from cost_calculator.models import (
    EndpointEstimateRequest,
    PiiEstimateRequest,
    RecommendationQuery,
    TrafficProfileRequest,
)
from cost_calculator.routes.answers import ANY_CONTENT_TYPE, answer_body, answer_query

app = Chalice(app_name="cost_calculator", configure_logs=False)
factory.store()  # settings read and objects built in the init phase: a bad variable fails the cold start
factory.prices()


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a route
    return request


def _body() -> bytes | str | None:
    return _request().raw_body


def _headers() -> Any:
    return _request().headers


def _query(name: str) -> dict[str, Any]:
    return {**(_request().query_params or {}), "name": name}


@app.route("/estimates/endpoint", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def endpoint_estimate() -> Response:
    return answer_body(_body(), _headers(), EndpointEstimateRequest, lambda r: estimate_endpoint(r, factory.prices()))


@app.route("/estimates/pii", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def pii_estimate() -> Response:
    return answer_body(_body(), _headers(), PiiEstimateRequest, lambda r: estimate_pii(r, factory.prices()))


@app.route("/estimates/traffic", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def traffic_plan() -> Response:
    return answer_body(_body(), _headers(), TrafficProfileRequest, lambda r: plan_traffic(r, factory.prices()))


@app.route("/endpoints/{name}/recommendation", methods=["GET"], content_types=ANY_CONTENT_TYPE)  # a GET body is never read
def endpoint_recommendation(name: str) -> Response:
    return answer_query(_query(name), RecommendationQuery, lambda q: recommendation_for(
        factory.store(), factory.prices(), q.name, q.window_minutes))
