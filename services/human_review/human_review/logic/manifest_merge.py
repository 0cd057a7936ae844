"""Merge of a training manifest with the parts that human review wrote.

An augmented manifest is JSON Lines keyed by `source-ref` (or `source` for inline text). A key
already in the base has its label attributes replaced by the part's; a new key is appended; no key
appears twice; base order is kept and new keys follow in the order the parts are given. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from human_review.logic.manifests import ManifestError, to_json_line
from pitwall_shared.inputs import BadInput, read_json
from pitwall_shared.jsonlines import join_lines, split_lines

SOURCE_KEYS = ("source-ref", "source")


def source_key(line: dict[str, Any]) -> tuple[str, str]:
    """The identity of a manifest line: (`source-ref` or `source`, its value)."""
    for key in SOURCE_KEYS:
        value = line.get(key)
        if isinstance(value, str) and value:
            return key, value
    raise ManifestError("line has neither source-ref nor source")


def parse_manifest(text: str, *, name: str = "manifest") -> list[dict[str, Any]]:
    """Parse JSON Lines, naming the file and line of the first bad one (read strictly, as every
    input: `pitwall_shared.inputs.read_json`); blank lines are skipped.

    Lines end at "\n" only: a value may hold U+2028 or U+0085 raw (`render_manifest` writes them
    so), which `str.splitlines()` would take for line breaks.
    """
    lines = []
    for number, raw in enumerate(split_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            line = read_json(raw, what=f"{name}:{number}")
        except BadInput as error:
            raise ManifestError(str(error)) from None
        if not isinstance(line, dict):
            raise ManifestError(f"{name}:{number}: a manifest line must be a JSON object")
        try:
            source_key(line)
        except ManifestError as error:
            raise ManifestError(f"{name}:{number}: {error}") from None
        lines.append(line)
    return lines


def merge_manifests(base: Iterable[dict[str, Any]], parts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the augmented manifest: `base` with `parts` applied in order.

    >>> base = [{"source-ref": "s3://b/1.jpg", "car": 0}, {"source-ref": "s3://b/2.jpg", "car": 1}]
    >>> parts = [{"source-ref": "s3://b/2.jpg", "car": 0}, {"source-ref": "s3://b/3.jpg", "car": 1}]
    >>> [(line["source-ref"][-5:], line["car"]) for line in merge_manifests(base, parts)]
    [('1.jpg', 0), ('2.jpg', 0), ('3.jpg', 1)]
    """
    merged: dict[tuple[str, str], dict[str, Any]] = {}  # dicts keep insertion order: the stable order
    for line in (*base, *parts):
        key = source_key(line)
        if key in merged:
            # Replace the attributes the newer line labels; keep the rest (other label jobs).
            merged[key] = {**merged[key], **line}
        else:
            merged[key] = dict(line)
    return list(merged.values())


def render_manifest(lines: Iterable[dict[str, Any]]) -> str:
    """JSON Lines text with one line per entry and a final newline."""
    return join_lines(to_json_line(line) for line in lines)
