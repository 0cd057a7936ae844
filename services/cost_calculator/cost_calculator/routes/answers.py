"""What a route of `api.py` does: the shared refusal of bad input
(`pitwall_shared.refusals`: content type, strict JSON, validation; the same 400 / 415 body in every
service, naming the field and the reason, never the values sent), JSON numbers read as exact
`Decimal`s, pydantic's reasons in the calculator's plain words, and 200 answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from chalice import Response
from pydantic import BaseModel

from pitwall_shared.inputs import PLAIN_WORDING, BadInput, validate
from pitwall_shared.observability import observability
from pitwall_shared.refusals import JSON_HEADERS, log_refusal, read_request, refusal

Request = TypeVar("Request", bound=BaseModel)
logger, _metrics, _tracer = observability("cost_calculator")
# Routes take any Content-Type; `read_request` checks it, so a wrong one gets the shared refusal
# (Chalice's own 415 repeats the header sent).
ANY_CONTENT_TYPE = ["*/*"]


def bad_request(error: BadInput) -> Response:
    answer = refusal(error)
    log_refusal(logger, error, "request refused", status=answer.status)
    return Response(body=answer.body, status_code=answer.status, headers=dict(answer.headers))


def ok(answer: BaseModel) -> Response:
    return Response(body=answer.model_dump_json(), status_code=200, headers=dict(JSON_HEADERS))


def answer_body(raw: bytes | str | None, headers: Mapping[str, Any] | None, model: type[Request],
                compute: Callable[[Request], BaseModel]) -> Response:
    """Read and validate a JSON body (non-integral numbers as exact `Decimal`s, never floats),
    then answer with `compute`'s result or the shared refusal."""
    try:
        request = read_request(raw, headers, model, parse_float=Decimal, wording=PLAIN_WORDING)
    except BadInput as error:
        return bad_request(error)
    return ok(compute(request))


def answer_query(params: Mapping[str, Any], model: type[Request], compute: Callable[[Request], BaseModel]) -> Response:
    """Validate path and query parameters (already decoded) and answer like `answer_body`."""
    try:
        query = validate(model, dict(params), wording=PLAIN_WORDING, root="query")
    except BadInput as error:
        return bad_request(error)
    return ok(compute(query))
