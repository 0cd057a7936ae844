"""How every entry point answers bad input, the same way in every service (issue 16, item 1).

Built on `pitwall_shared.inputs` (the strict JSON reader and the validation-error scrubber), so a
deep, duplicated, out-of-range, non-UTF-8 or wrongly typed input is a `BadInput` whose problems
name the field and the reason and never the value sent. From there:

- HTTP (the Chalice routes of race_predictor and cost_calculator): `read_request` checks the
  content type, reads the body strictly and validates it into the route's model; `refusal` turns
  the `BadInput` into the one answer every route gives, 400 (415 for a content type that is not
  JSON), with the body

      {"error": "invalid_request", "message": "invalid request",
       "problems": ["<field>: <reason>", ...],
       "errors": [{"field": ..., "reason": ..., "kind": ...}, ...]}

  (`problems` is race_predictor's published shape, `errors` cost_calculator's; both are in every
  answer). The route turns it into its framework's response; this module imports no framework.
- Batches (Kinesis and SQS records, EventBridge events delivered through SQS): `refusing_bad_input`
  wraps a Powertools record handler. A `BadInput`, a pydantic `ValidationError` (scrubbed) or a
  `RecursionError` becomes a `BadInput` that is logged as `record refused` with its `reason_kind`,
  counted (`RecordsRefused`, or the metric named) and raised again, so the batch processor reports that record alone
  in `batchItemFailures`; its neighbours are processed. Any other exception is a failed side
  effect: it propagates unchanged (retried, then dead-lettered).

Example::

    try:
        request = read_request(raw_body, headers, PredictRequest)
    except BadInput as error:
        answer = refusal(error)          # -> HttpAnswer(status=400, body={...}, headers={...})

    record_handler = refusing_bad_input(handle_one, logger=logger, metrics=metrics,
                                        record_id=lambda record: record.message_id)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pitwall_shared.inputs import BadInput, Problem, problems_of, read_json, validate

M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
JSON_HEADERS: dict[str, str] = {"Content-Type": "application/json"}
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer before it becomes a framework's response object."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))


def refusal_body(error: BadInput) -> dict[str, Any]:
    return {"error": "invalid_request", "message": "invalid request", "problems": error.lines(),
            "errors": [{"field": problem.field, "reason": problem.reason, "kind": problem.kind}
                       for problem in error.problems]}


def refusal(error: BadInput) -> HttpAnswer:
    """400 naming every problem (415 when the content type is the problem)."""
    status = 415 if error.kind == UNSUPPORTED_MEDIA_TYPE else 400
    return HttpAnswer(status, refusal_body(error))


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:  # a plain dict (a Lambda event's headers) is not case-insensitive
        value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == name), None)
    return value if isinstance(value, str) else None


def check_json_content_type(headers: Mapping[str, Any] | None) -> None:
    """Refuse a body declared as anything but JSON in UTF-8 (`application/json`, `application/*+json`,
    with at most a `charset=utf-8` parameter). No Content-Type at all is read as JSON, as Chalice
    and API Gateway do. The problem never repeats the header's value."""
    declared = _header(headers, "content-type")
    if declared is None or not declared.strip():
        return
    media_type, *parameters = (part.strip().lower() for part in declared.split(";"))
    kind, _, subtype = media_type.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        raise BadInput([Problem("Content-Type", "must be application/json", UNSUPPORTED_MEDIA_TYPE)])
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            raise BadInput([Problem("Content-Type", "charset must be utf-8", UNSUPPORTED_MEDIA_TYPE)])


def read_request(raw_body: bytes | str | None, headers: Mapping[str, Any] | None, model: type[M], *,
                 parse_float: Callable[[str], Any] | None = None, **problem_options: Any) -> M:
    """Content type, strict JSON, then `model` (options as for `problems_of`); raises `BadInput`."""
    check_json_content_type(headers)
    root = problem_options.get("root", "body")
    data = read_json(raw_body, what=root, parse_float=parse_float)
    if not isinstance(data, dict):
        raise BadInput([Problem(root, "must be a JSON object", "model_type")])
    return validate(model, data, **problem_options)


def scrubbed(error: ValidationError, *, prefix: str = "", **problem_options: Any) -> BadInput:
    """A pydantic error as `BadInput`, each field under `prefix` (`detail.data` for an event's
    payload validated on its own), its input values dropped."""
    problems = problems_of(error, **problem_options)
    if not prefix:
        return BadInput(problems)
    return BadInput([Problem(f"{prefix}.{problem.field}" if problem.field else prefix, problem.reason, problem.kind)
                     for problem in problems])


def as_bad_input(error: Exception, *, what: str = "record", **problem_options: Any) -> BadInput | None:
    """The `BadInput` an exception stands for, or None when it is not about the input."""
    if isinstance(error, BadInput):
        return error
    if isinstance(error, ValidationError):
        return BadInput(problems_of(error, root=what, **problem_options))
    if isinstance(error, RecursionError):
        return BadInput([Problem(what, "nested too deeply", "too_deep")])
    return None


def log_refusal(logger: Any, error: BadInput, message: str = "record refused", **ids: Any) -> None:
    """One warning per refused input: the ids given, the reason kind, the problems (never values)."""
    logger.warning(message, extra={**ids, "reason_kind": error.kind, "problems": error.lines()})


def refusing_bad_input(handler: Callable[[R], Any], *, logger: Any, metrics: Any = None,
                       metric: str = "RecordsRefused", record_id: Callable[[R], Any], id_name: str = "record_id",
                       what: str = "record", **problem_options: Any) -> Callable[[R], Any]:
    """Wrap a Powertools record handler: bad input fails that record alone, logged by reason kind
    and counted as `metric`; `what` names the record in problems (options as for `problems_of`)."""

    @functools.wraps(handler)
    def wrapper(record: R) -> Any:
        try:
            return handler(record)
        except Exception as error:  # noqa: BLE001 - sorted below: bad input, or re-raised as it was
            refused = as_bad_input(error, what=what, **problem_options)
            if refused is None:
                raise
            try:
                identity = record_id(record)
            except Exception:  # noqa: BLE001 - a record without its id is still refused alone
                identity = None
            log_refusal(logger, refused, **{id_name: identity})
            if metrics is not None:
                metrics.add_metric(name=metric, unit="Count", value=1)
            if refused is error:
                raise
            raise refused from None

    return wrapper
