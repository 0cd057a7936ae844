"""Validates events against the contracts in `events/schemas/`.

`events/schemas/<DetailType>.v<N>.json` describes the `data` of one detail-type; every detail also
matches `envelope.v1.json`. Tests call `assert_valid_event` on what a service actually published.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).resolve().parent.parent / "events" / "schemas"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid_event(detail_type: str, detail: dict[str, Any] | str) -> None:
    """Raise AssertionError naming every violation of the envelope or of the detail-type's schema."""
    if isinstance(detail, str):
        detail = json.loads(detail)
    assert isinstance(detail, dict)
    version = detail.get("schema_version", "1")
    problems = [f"envelope: {e.json_path}: {e.message}" for e in validator("envelope.v1").iter_errors(detail)]
    problems += [
        f"{detail_type}: {e.json_path}: {e.message}"
        for e in validator(f"{detail_type}.v{version}").iter_errors(detail.get("data"))
    ]
    assert not problems, "\n".join(problems)
