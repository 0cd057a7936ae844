"""HTTP plumbing shared by the F1 and NHL routes: JSON answers (200 / 400 / 404 / 415 / 503) and
the request's correlation id. Bad input is answered by `pitwall_shared.refusals` (the same 400 / 415
in every service: names the bad fields, never echoes the values sent).
"""

from __future__ import annotations

import json
from typing import Any

from chalice import Response
from chalice.app import Request

from pitwall_shared.inputs import BadInput
from pitwall_shared.observability import observability
from pitwall_shared.refusals import log_refusal, refusal

logger, _metrics, _tracer = observability("race_predictor")
# Routes take any Content-Type and check it with `pitwall_shared.refusals.check_json_content_type`,
# so a wrong one gets the answer every bad input gets (Chalice's own 415 repeats the header sent).
ANY_CONTENT_TYPE = ["*/*"]


def json_answer(status: int, body: dict[str, Any]) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json"})


def bad_request(error: BadInput) -> Response:
    """The shared refusal (400, or 415 for a content type that is not JSON), logged by reason kind."""
    answer = refusal(error)
    log_refusal(logger, error, "request refused", status=answer.status)
    return json_answer(answer.status, answer.body)


def busy(detail: str) -> Response:
    """503 + Retry-After: the item kept changing under concurrent writers; the client retries."""
    return Response(body=json.dumps({"error": "busy", "detail": detail}),
                    status_code=503, headers={"Content-Type": "application/json", "Retry-After": "1"})


def current(request: Request | None) -> Request:
    assert request is not None, "only called inside a route"
    return request


def correlation_id(request: Request) -> str | None:
    headers: Any = request.headers or {}
    return headers.get("x-correlation-id") or (request.context or {}).get("requestId")
