"""Untrusted JSON input, read and refused the same way at every entry point of every service.

`read_json` decodes a body (HTTP request, SQS message, Kinesis record) strictly: not JSON, not
UTF-8, duplicate keys, NaN / Infinity, numbers out of range, nesting deeper than `MAX_DEPTH`, lone
surrogates, and (with `exact_numbers=True`) decimals that a float does not hold exactly. Nothing is
walked recursively: the depth is measured on the text before the parser sees it, so the parser's own
recursion never goes past `max_depth`. `problems_of` turns a pydantic `ValidationError` into `Problem`s that name the field and
the reason but never the value sent (pydantic's own text quotes the input). Both raise or return
the same `Problem`s, so an HTTP route answers 400 with them and a batch consumer fails that one
record and logs `BadInput.kind`.

Example::

    try:
        request = validate(PredictRequest, read_json(raw_body))
    except BadInput as error:
        return 400, {"problems": error.lines()}

Hand-written because the standard `json` module has no depth limit or duplicate-key check of its
own, and pydantic's messages are made for developers who may see the input.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from itertools import accumulate
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

MAX_DEPTH = 32  # the deepest legitimate Pitwall input (an SQS body holding an event) is under 10
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string (or the unterminated rest of one: the pattern always matches from a quote, so the
# scan is linear), and anything but a bracket.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")  # pydantic writes Decimal limits as Decimal('1000000')
_UNION_TAG = ("union_tag_invalid", "union_tag_not_found")
M = TypeVar("M", bound=BaseModel)

# Friendlier words for pydantic's error types (the cost calculator's dialect); pass as `wording`.
PLAIN_WORDING: Mapping[str, str] = {
    "extra_forbidden": "unknown field",
    "missing": "required",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
}


class Problem(str):
    """One thing wrong with an input, as the line `"<field>: <reason>"` a client or a log reads,
    with its parts: where (`field`), why (`reason`), and its `kind` for logs and metrics (pydantic's
    error type, or one of read_json's: not_json, not_utf8, duplicate_key, not_a_number,
    number_out_of_range, inexact_number, too_deep, lone_surrogate)."""

    field: str
    reason: str
    kind: str

    def __new__(cls, field: str, reason: str, kind: str = "invalid") -> Problem:
        line = super().__new__(cls, f"{field}: {reason}")
        line.field, line.reason, line.kind = field, reason, kind
        return line

    @classmethod
    def of(cls, line: str) -> Problem:
        """A Problem from a written line `"<field>: <reason>"`."""
        if isinstance(line, Problem):
            return line
        field, _, reason = line.partition(": ")
        return cls(field, reason)


class BadInput(ValueError):
    """An input that cannot be used as sent; `problems` say why, without its values."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [Problem.of(problem) for problem in problems]
        super().__init__("; ".join(self.problems))

    @property
    def kind(self) -> str:
        """The first problem's kind: what a log line or a metric dimension records."""
        return self.problems[0].kind if self.problems else "invalid"

    def lines(self) -> list[str]:
        return [str(problem) for problem in self.problems]


class FieldProblem(ValueError):
    """Raised inside a model validator to name the field and reason itself (a cross-field rule,
    say); `problems_of` reports it as given."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _refuse(what: str, reason: str, kind: str) -> BadInput:
    return BadInput([Problem(what, reason, kind)])


def nesting_depth(text: str, limit: int) -> int:
    """The deepest nesting of arrays and objects in JSON `text`, counted without recursion (brackets
    inside strings do not count), capped at `limit + 1`.

    >>> nesting_depth('{"a": [1, {"b": "]]]"}]}', 32), nesting_depth("[" * 5000, 32)
    (3, 33)
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    # Running depth after each bracket, in C (map, accumulate, max): no Python step per character.
    deepest = max(accumulate(map(_STEP.__getitem__, brackets.encode("ascii")), operator.add))
    return min(deepest, limit + 1)


def _too_deep(raw: bytes | str, max_depth: int) -> bool:
    opened = raw.count(b"[") + raw.count(b"{") if isinstance(raw, bytes) else raw.count("[") + raw.count("{")
    if opened <= max_depth:  # the common case: it cannot be deeper
        return False
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return nesting_depth(text, max_depth) > max_depth


def read_json(raw: bytes | str | None, *, what: str = "body", parse_float: Callable[[str], Any] | None = None,
              max_depth: int = MAX_DEPTH, exact_numbers: bool = False) -> Any:
    """Decode `raw` strictly; None or empty gives None (the caller's model says what is required).

    `what` names the input in problems ("body", "record", "message body"); `parse_float` as in
    `json.loads` (`Decimal` for exact arithmetic). `exact_numbers` refuses a decimal whose float
    denotes another number (`0.10000000000000000001`, `1e-400`), so that writing the value back gives
    the number that was read. Raises `BadInput`, never anything else.
    """
    if raw is None or len(raw) == 0:
        return None
    if _too_deep(raw, max_depth):
        raise _refuse(what, f"not valid JSON (nested deeper than {max_depth} levels)", "too_deep")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) != len(items):
            raise _refuse(what, "not valid JSON (a key appears twice in one object)", "duplicate_key")
        return result

    def constant(name: str) -> Any:
        raise _refuse(what, f"not valid JSON ({name} is not a JSON number)", "not_a_number")

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise _refuse(what, "not valid JSON (a number is out of range)", "number_out_of_range")
        if exact_numbers and Decimal(repr(value)) != Decimal(text):
            raise _refuse(what, "a number has more precision than a double holds", "inexact_number")
        return value

    if isinstance(raw, bytes | bytearray):
        # json.loads would guess UTF-16 or UTF-32 from the bytes; JSON between systems is UTF-8 (RFC 8259 §8.1).
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise _refuse(what, "not valid JSON (not UTF-8)", "not_utf8") from None
    try:
        value = json.loads(raw, object_pairs_hook=pairs, parse_constant=constant, parse_float=parse_float or finite)
    except BadInput:
        raise
    except json.JSONDecodeError as error:
        raise _refuse(what, f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})",
                      "not_json") from None
    except UnicodeDecodeError:
        raise _refuse(what, "not valid JSON (not UTF-8)", "not_utf8") from None
    except RecursionError:
        raise _refuse(what, f"not valid JSON (nested deeper than {max_depth} levels)", "too_deep") from None
    except ValueError:  # an integer past Python's digit limit
        raise _refuse(what, "not valid JSON (a number is out of range)", "number_out_of_range") from None
    _check_shape(value, what, max_depth)
    return value


def _check_shape(value: Any, what: str, max_depth: int) -> None:
    """Depth and lone surrogates (which no UTF-8 writer downstream can encode), iteratively."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _refuse(what, "not valid JSON (a string holds a lone surrogate)", "lone_surrogate")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise _refuse(what, f"not valid JSON (nested deeper than {max_depth} levels)", "too_deep")
        children: Iterable[Any] = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)


def field_path(loc: Sequence[int | str], *, skip: Iterable[str] = ()) -> str:
    """('messages', 3, 'lap_completed', 'lap') -> 'messages[3].lap' with `skip` naming the union tags
    pydantic puts in the location; '' for the root."""
    skipped = set(skip)
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in skipped:
            path += f".{part}" if path else str(part)
    return path


def dotted_path(loc: Sequence[int | str]) -> str:
    """('players', 0, 'name') -> 'players.0.name' (the tracking records' style)."""
    return ".".join(str(part) for part in loc)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def problems_of(error: ValidationError, *, skip_tags: Iterable[str] = (), dotted: bool = False,
                root: str = "body", wording: Mapping[str, str] | None = None) -> list[Problem]:
    """Every error in `error` as a Problem naming the field and pydantic's reason without the input.

    The field is `field_path` of the error's location (`skip_tags` dropped), or `dotted_path` when
    `dotted`; `root` names the whole input. `wording` replaces the reason of chosen error types. A
    union tag that matches no member names the allowed tags instead of the one sent.
    """
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        where = dotted_path(item["loc"]) if dotted else field_path(item["loc"], skip=skip_tags)
        ctx = item.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, FieldProblem):
            problems.append(Problem(cause.field, cause.reason, item["type"]))
        elif item["type"] in _UNION_TAG:
            tag = str(ctx.get("discriminator", "type")).strip("'")
            allowed = str(ctx.get("expected_tags", "")).replace("'", "")
            problems.append(Problem(_join(where, tag), f"must be one of {allowed}", item["type"]))
        else:
            reason = (wording or {}).get(item["type"]) or _DECIMAL_REPR.sub(r"\1", item["msg"])
            if wording is not None:
                reason = reason.removeprefix("Value error, ")
            problems.append(Problem(where or root, reason, item["type"]))
    return problems


def validate(model: type[M], data: Any, **options: Any) -> M:
    """`model.model_validate(data)`, raising `BadInput` (options as for `problems_of`)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadInput(problems_of(error, **options)) from None


def validate_with(adapter: TypeAdapter[Any], data: Any, **options: Any) -> Any:
    """The same for a `TypeAdapter` (a union of record types, say)."""
    try:
        return adapter.validate_python(data)
    except ValidationError as error:
        raise BadInput(problems_of(error, **options)) from None
