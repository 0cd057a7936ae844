"""Which values of a JSON record are inspected: field paths (`a.b`, `items[*].note`, `*`) and the slots
they select, each a place in the record whose value can be read as text and written back.

A path that reaches an object or array selects every scalar beneath it. Numbers are inspected in
their JSON text form; booleans and nulls hold no text and are never selected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WILDCARD = "*"
_SEGMENT = re.compile(r"^(?P<name>[^.\[\]]+)(?P<arrays>(?:\[\*\])*)$")


@dataclass(frozen=True, slots=True)
class Segment:
    """One step of a path: a key (or `*` for every key), then `[*]` this many times."""

    key: str
    arrays: int = 0


FieldPath = tuple[Segment, ...]


def parse_field_path(text: str) -> FieldPath:
    """Parse one path.

    >>> parse_field_path("orders[*].note")
    (Segment(key='orders', arrays=1), Segment(key='note', arrays=0))
    """
    path = text.strip()
    if not path:
        raise ValueError("empty field path")
    segments = []
    for raw in path.split("."):
        match = _SEGMENT.match(raw.strip())
        if match is None:
            raise ValueError(f"field path {path!r}: bad segment {raw!r} (use name, name[*], or *)")
        segments.append(Segment(match["name"].strip(), len(match["arrays"]) // 3))
    return tuple(segments)


def parse_field_paths(text: str) -> tuple[FieldPath, ...]:
    """Parse a comma-separated list; whitespace around names is ignored, duplicates dropped."""
    paths = [parse_field_path(part) for part in text.split(",") if part.strip()]
    if not paths:
        raise ValueError("no field paths given")
    return tuple(dict.fromkeys(paths))


def path_text(path: FieldPath) -> str:
    """The path as configured (normalised).

    >>> path_text(parse_field_path(" orders[*] . note "))
    'orders[*].note'
    """
    return ".".join(segment.key + "[*]" * segment.arrays for segment in path)


@dataclass(frozen=True, slots=True)
class Slot:
    """A scalar in the record: `container[key]`, with its text form, and the configured path that
    selected it (`field`: the deployer's text, never taken from the record)."""

    container: Any
    key: str | int
    text: str
    was_string: bool
    field: str = ""

    def write(self, value: str) -> None:
        self.container[self.key] = value


def _leaves(container: Any, key: str | int, out: list[Slot], label: str = "") -> None:
    """Every scalar under `container[key]`, depth first in document order, without recursion."""
    stack: list[tuple[Any, str | int]] = [(container, key)]
    while stack:
        parent, place = stack.pop()
        value = parent[place]
        if isinstance(value, str):
            out.append(Slot(parent, place, value, True, label))
        elif isinstance(value, dict):
            stack.extend((value, child) for child in reversed(value))
        elif isinstance(value, list):
            stack.extend((value, index) for index in range(len(value) - 1, -1, -1))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(Slot(parent, place, json.dumps(value), False, label))


def _expand_arrays(container: Any, key: str | int, depth: int) -> list[tuple[Any, str | int]]:
    """`container[key]` with `[*]` applied `depth` times: the elements, in order (non-lists drop out)."""
    level: list[tuple[Any, str | int]] = [(container, key)]
    for _ in range(depth):
        level = [(value, index) for parent, place in level if isinstance(value := parent[place], list)
                 for index in range(len(value))]
    return level


def _walk(record: Any, path: FieldPath) -> Iterator[tuple[Any, str | int]]:
    """The places `path` reaches in `record`, in document order; an explicit stack, no recursion
    (the stack holds nodes still to match against a segment, and places already matched)."""
    stack: list[tuple[bool, Any, Any]] = [(False, record, 0)]
    while stack:
        matched, node, index = stack.pop()
        if matched:
            yield node, index
            continue
        if not isinstance(node, dict):
            continue
        segment = path[index]
        keys = list(node) if segment.key == WILDCARD else ([segment.key] if segment.key in node else [])
        found = [place for key in keys for place in _expand_arrays(node, key, segment.arrays)]
        last = index + 1 == len(path)
        stack.extend((True, container, place) if last else (False, container[place], index + 1)
                     for container, place in reversed(found))


def select(record: Any, paths: tuple[FieldPath, ...]) -> list[Slot]:
    """The slots `paths` select in `record`, each once, in path order."""
    slots: list[Slot] = []
    for path in paths:
        label = path_text(path)
        if len(path) == 1 and not path[0].arrays and path[0].key != WILDCARD:
            # The common case, a top-level field, without the generic walk.
            if isinstance(record, dict) and path[0].key in record:
                _leaves(record, path[0].key, slots, label)
            continue
        for container, place in _walk(record, path):
            _leaves(container, place, slots, label)
    if len(paths) == 1:
        return slots
    seen: set[tuple[int, str | int]] = set()
    unique = []
    for slot in slots:
        identity = (id(slot.container), slot.key)
        if identity not in seen:
            seen.add(identity)
            unique.append(slot)
    return unique
