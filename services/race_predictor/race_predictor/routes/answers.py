"""HTTP plumbing shared by the F1 and NHL routes: JSON answers (200 / 400 / 404 / 503) and the
request's correlation id. A 400 names the bad fields and never echoes the values sent.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalice import Response
from chalice.app import Request


def json_answer(status: int, body: dict[str, Any]) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json"})


def bad_request(problems: Sequence[str]) -> Response:
    return json_answer(400, {"error": "invalid_request", "problems": list(problems)})


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
