"""HTTP plumbing of the cost calculator's Chalice routes: reads a JSON body exactly (numbers as
`Decimal`), validates it into a request model and shapes 200 and 400 answers. Every input problem
becomes a 400 naming the field and the reason; the input's values are never echoed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from chalice import Response
from pydantic import BaseModel, ValidationError

from cost_calculator.models import FieldProblem

Request = TypeVar("Request", bound=BaseModel)
_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")  # pydantic writes limits as Decimal('1000000')
JSON_HEADERS: dict[str, str | list[str]] = {"Content-Type": "application/json"}


class InvalidInput(Exception):
    """The request cannot be answered as sent; `problems` are (field, reason) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(raw: bytes | str | None) -> Any:
    """Decode a request body; non-integral numbers become exact `Decimal`s, never floats."""
    if not raw:
        raise InvalidInput([("body", "required: a JSON object")])
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise InvalidInput([("body", f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}")]) from None
    except (ValueError, RecursionError) as error:
        # Non-UTF-8 bytes, NaN/Infinity, integers past Python's digit limit, absurd nesting.
        reason = str(error) if "JSON number" in str(error) else type(error).__name__
        raise InvalidInput([("body", f"malformed JSON: {reason}")]) from None


def _field(location: tuple[int | str, ...]) -> str:
    field = ""
    for part in location:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    return field or "body"


def problems_of(error: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, FieldProblem):
            problems.append((cause.field, cause.reason))
        elif item["type"] == "extra_forbidden":
            problems.append((_field(item["loc"]), "unknown field"))
        elif item["type"] == "missing":
            problems.append((_field(item["loc"]), "required"))
        elif item["type"] == "model_type":
            problems.append((_field(item["loc"]), "must be a JSON object"))
        else:
            reason = _DECIMAL_REPR.sub(r"\1", item["msg"].removeprefix("Value error, "))
            problems.append((_field(item["loc"]), reason))
    return problems


def validate(model: type[Request], data: Any) -> Request:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(problems_of(error)) from None


def bad_request(error: InvalidInput) -> Response:
    body = {"message": "invalid request", "errors": [{"field": f, "reason": r} for f, r in error.problems]}
    return Response(body=json.dumps(body), status_code=400, headers=JSON_HEADERS)


def ok(answer: BaseModel) -> Response:
    return Response(body=answer.model_dump_json(), status_code=200, headers=JSON_HEADERS)


def answer_body(raw: bytes | str | None, model: type[Request], compute: Callable[[Request], BaseModel]) -> Response:
    """Parse and validate a JSON body, then answer with `compute`'s result or a 400."""
    try:
        return ok(compute(validate(model, parse_json(raw))))
    except InvalidInput as error:
        return bad_request(error)


def answer_query(params: Mapping[str, Any], model: type[Request], compute: Callable[[Request], BaseModel]) -> Response:
    """Validate path and query parameters (already decoded) and answer like `answer_body`."""
    try:
        return ok(compute(validate(model, dict(params))))
    except InvalidInput as error:
        return bad_request(error)
