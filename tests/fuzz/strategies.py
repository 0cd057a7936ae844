"""Hypothesis strategies for untrusted JSON (issue 16, item 3): what a client, a producer on the bus
or a broken writer can send to an entry point.

`json_texts()` draws JSON *text*, not values, so that it can hold what `json.dumps` never writes:
duplicate keys, nesting past any limit (up to 100,000 levels, past Python's recursion limit),
numbers past float range or Python's 4,300-digit integer limit, NaN / Infinity, lone surrogates
(escaped), and strings holding every character `str.splitlines()` breaks at (U+2028, U+2029,
U+0085, \\x1c-\\x1e, \\v, \\f) written raw. `json_bodies()` adds the byte-level faults: invalid UTF-8,
other encodings, a BOM, truncation. `with_duplicate_key(valid)` and `nested_in(valid)` keep a valid
document's shape and break it in one of those ways, so the checks behind the parser are reached too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from pitwall_shared.inputs import MAX_DEPTH

# Every character str.splitlines() treats as a line break (Python docs, str.splitlines).
LINE_BREAKERS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
# Characters a JSON string may hold raw that are known to trip readers and renderers: the line
# breakers JSON allows raw (U+0085, U+2028, U+2029), BOM, zero-width space, right-to-left override,
# the last BMP and private-use characters, an astral emoji, a combining mark.
ODD_CHARACTERS = "\x85\u2028\u2029\ufeff\u200b\u202e\uffff\ue000\U0001f600\u0301"
DEPTHS = (MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 999, 1_000, 5_000, 100_000)
HUGE_NUMBERS = ("1e400", "-1e400", "1e-400", "9" * 4_301, "-" + "9" * 5_000, "1" + "0" * 400 + ".5",
                "NaN", "Infinity", "-Infinity", "-0", "1E+308", "2e308", "0.0000000000000000000001")
LONE_SURROGATES = ('"\\ud800"', '"\\udfff"', '"a\\ud83db"', '"\\udc00\\ud800"')

odd_text = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(LINE_BREAKERS + ODD_CHARACTERS),
                   max_size=16)
keys = st.sampled_from(["type", "id", "detail", "messages", "a", ""]) | odd_text


@dataclass(frozen=True)
class Pairs:
    """A JSON object as its written pairs, so that a key may appear twice."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Raw:
    """JSON text written as is (a number literal json.dumps would not write, say)."""

    text: str


def render(node: Any) -> str:
    """JSON text of a drawn node; strings keep non-ASCII raw (ensure_ascii=False), as many writers do."""
    if isinstance(node, Raw):
        return node.text
    if isinstance(node, Pairs):
        return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{render(value)}" for key, value in node.items) + "}"
    if isinstance(node, list):
        return "[" + ",".join(render(item) for item in node) + "]"
    return json.dumps(node, ensure_ascii=False)


scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | odd_text
           | st.sampled_from(HUGE_NUMBERS + LONE_SURROGATES).map(Raw))


def _objects(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Pairs]:
    pairs = st.lists(st.tuples(keys, inner), max_size=5)

    @st.composite
    def maybe_duplicated(draw: st.DrawFn) -> Pairs:
        items = draw(pairs)
        if items and draw(st.booleans()):
            key, _ = draw(st.sampled_from(items))
            items.append((key, draw(inner)))  # the same key again, with another value
        return Pairs(tuple(items))

    return maybe_duplicated()


trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | _objects(inner), max_leaves=20)


@st.composite
def deep(draw: st.DrawFn, inner: st.SearchStrategy[str] | None = None) -> str:
    """`inner` (default: a small document) inside arrays or objects nested around the depth limit
    or far past it."""
    depth = draw(st.sampled_from(DEPTHS))
    core = draw(inner if inner is not None else trees.map(render))
    if draw(st.booleans()):
        return "[" * depth + core + "]" * depth
    key = json.dumps(draw(keys), ensure_ascii=False)
    return ("{" + key + ":") * depth + core + "}" * depth


def json_texts() -> st.SearchStrategy[str]:
    """JSON text, well-formed or not, with every hazard listed in the module docstring."""
    junk = st.text(max_size=40) | st.sampled_from(["", " ", "{", "[1,]", '{"a":1,}', "'a'", "\ufeff{}", "{}{}",
                                                  '{"a":1}\n{"a":2}', '"\x1c"', "\x00"])
    return trees.map(render) | deep() | junk | trees.map(render).map(lambda text: text[: len(text) // 2])


def json_bodies() -> st.SearchStrategy[bytes]:
    """Bodies as a socket delivers them: UTF-8 JSON text, or text in another encoding, invalid
    UTF-8, a BOM, random bytes."""
    texts = json_texts()
    return (texts.map(lambda text: text.encode("utf-8", "surrogatepass"))
            | texts.map(lambda text: text.encode("utf-16", "surrogatepass"))
            | texts.map(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass"))
            | texts.map(lambda text: text.encode("utf-8", "surrogatepass") + b"\xff\xfe")
            | st.binary(max_size=200))


@st.composite
def with_duplicate_key(draw: st.DrawFn, valid: Any) -> str:
    """`valid` written out with one object's key repeated (the second value random), before or
    after the first."""
    objects: dict[int, list[tuple[str, Any]]] = {}

    def convert(node: Any) -> Any:
        if isinstance(node, dict):
            items = [(key, convert(value)) for key, value in node.items()]
            objects[id(items)] = items
            return items
        if isinstance(node, list):
            return [convert(item) for item in node]
        return node

    root = convert(valid)
    candidates = [items for items in objects.values() if items]
    if candidates:
        items = draw(st.sampled_from(candidates))
        key, _ = draw(st.sampled_from(items))
        items.insert(draw(st.integers(0, len(items))), (key, draw(trees)))

    def freeze(node: Any) -> Any:
        if isinstance(node, list) and id(node) in objects:
            return Pairs(tuple((key, freeze(value)) for key, value in node))
        if isinstance(node, list):
            return [freeze(item) for item in node]
        return node

    return render(freeze(root))


@st.composite
def nested_in(draw: st.DrawFn, valid: dict[str, Any]) -> str:
    """`valid` (an object) with one of its values replaced by a deeply nested one."""
    key = draw(st.sampled_from(list(valid)))
    rest = ",".join(f"{json.dumps(k, ensure_ascii=False)}:{json.dumps(v, ensure_ascii=False)}"
                    for k, v in valid.items() if k != key)
    return "{" + rest + ("," if rest else "") + f"{json.dumps(key)}:{draw(deep())}" + "}"
