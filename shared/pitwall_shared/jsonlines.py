"""JSON Lines (augmented manifests, Firehose deliveries, error records), split and joined on "\\n" only.

JSON Lines separates values by "\\n" (https://jsonlines.org: "the line separator must be '\\n'").
`str.splitlines()` also breaks at \\r, \\v, \\f, \\x1c-\\x1e, U+0085, U+2028 and U+2029; a JSON string
may hold U+0085, U+2028 and U+2029 raw (`json.dumps(..., ensure_ascii=False)` writes them as they
are), so a line cut there is no longer JSON. JSON escapes "\\n" inside strings, so "\\n" is the only
break that never falls inside a value. Pure; `str` and `bytes` alike.

>>> split_lines('{"s":"a\\u2028b"}\\n{"s":"c"}\\n')
['{"s":"a\\u2028b"}', '{"s":"c"}']
>>> split_lines(join_lines(['{"a":1}', '{"b":2}'])) == ['{"a":1}', '{"b":2}']
True
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, AnyStr


def split_lines(text: AnyStr) -> list[AnyStr]:
    """The lines of `text` without their "\\n"; a final "\\n" ends the last line (no empty line after it)."""
    newline = b"\n" if isinstance(text, bytes) else "\n"
    lines = text.split(newline)  # type: ignore[arg-type]
    if lines and not lines[-1]:
        lines.pop()
    return lines


def non_blank_lines(text: AnyStr) -> list[AnyStr]:
    """`split_lines` without the lines that hold only whitespace."""
    return [line for line in split_lines(text) if line.strip()]


def join_lines(lines: Iterable[str]) -> str:
    """Each line followed by "\\n" (the last one too, as JSON Lines files end)."""
    return "".join(f"{line}\n" for line in lines)


def to_line(value: Any, *, ensure_ascii: bool = False) -> str:
    """One compact JSON line; "\\n" can only appear escaped in it, so it is one line wherever it goes."""
    return json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"))


def loads_lines(text: AnyStr) -> list[Any]:
    """Every non-blank line decoded (json.loads raises on a bad one; callers that must name the
    line, such as the manifest reader, loop over `split_lines` themselves)."""
    return [json.loads(line) for line in non_blank_lines(text)]
