"""Issue 12, must show: hostile JSON drawn at random (duplicate keys at any depth, deep nesting, odd
escapes, odd numbers) beside a control record. Whatever the record and the policy: every recordId is
answered once, the control comes out redacted, and no Ok output holds a configured field's PII in the
clear."""

from __future__ import annotations

import base64
import json

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pii_redaction.logic.batch import DEFAULT_MAX_DEPTH, ScreeningOptions
from pii_redaction.logic.fields import parse_field_paths
from pii_redaction.logic.screening import screen
from pii_redaction.models import InputRecord
from tests.unit.pii.helpers import InProcessComprehend

# (value placed in a configured field, the entity text that must never appear in an Ok output)
PII = [("My SSN is 548-95-6370", "548-95-6370"), ("mail bob@example.com", "bob@example.com"),
       ("Call me on 206-555-0143 tomorrow", "206-555-0143")]
NEEDLES = [needle for _, needle in PII]
CONTROL = {"Tweet1": "Call me on 206-555-0143 tomorrow", "User": "12345"}
CONTROL_OUT = {"Tweet1": "Call me on ************ tomorrow", "User": "12345"}
BENIGN = ["hello", "", "a/b", "tab\there", "quote \" and \\ backslash", "é😀", "nothing to see"]
# Literal forms of odd strings: escaped pairs, a lone surrogate, NUL, "\/", the BMP edge.
ODD_LITERALS = ['"\\ud83d\\ude00"', '"\\ud800"', '"x\\udfff"', '"\\u0000"', '"\\/"', '"\\uffff"', '"\\b\\f"']
NUMBERS = ["0", "-0", "1E5", "1.50", "123456789012345678901234567890", "NaN", "Infinity", "-Infinity",
           "1e400", "0.10000000000000000001", "5534816011668430.5", "2.5e-3"]


@st.composite
def string_literal(draw: st.DrawFn, text: str) -> str:
    """`text` as a JSON string literal with some characters written as \\uXXXX escapes."""
    out = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20:
            out.append(json.dumps(char)[1:-1])
        elif draw(st.integers(0, 4)) == 0:
            out.append("".join(f"\\u{unit:04x}" for unit in _utf16(char)))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]


@st.composite
def key_literal(draw: st.DrawFn, key: str) -> str:
    return draw(string_literal(key))


@st.composite
def value(draw: st.DrawFn, selected: bool, depth: int) -> str:
    """A JSON value as text; PII only where `selected` (under a configured path)."""
    kinds = ["string"] * 6 + ["odd", "number", "constant"] + (["array", "object"] if depth < 4 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "string":
        pool = [text for text, _ in PII] * 3 + BENIGN if selected else BENIGN
        return draw(string_literal(draw(st.sampled_from(pool))))
    if kind == "odd":
        return draw(st.sampled_from(ODD_LITERALS))
    if kind == "number":
        return draw(st.sampled_from(NUMBERS))
    if kind == "constant":
        return draw(st.sampled_from(["true", "false", "null"]))
    if kind == "array":
        items = draw(st.lists(value(selected, depth + 1), max_size=3))
        return "[" + ",".join(items) + "]"
    return draw(obj(selected, depth + 1, top=False))


@st.composite
def obj(draw: st.DrawFn, selected: bool, depth: int, top: bool) -> str:
    """An object as text whose keys may repeat (written alike or escaped differently)."""
    names = ["Tweet1", "user", "email", "note", "Tweet2"]
    unique = draw(st.integers(0, 2)) > 0  # a third of the objects may repeat a key
    pairs = []
    chosen = draw(st.lists(st.sampled_from(names), min_size=1 if top else 0, max_size=4, unique=unique))
    if top and "Tweet1" not in chosen:
        chosen.insert(0, "Tweet1")
    for name in chosen:
        if top and name == "user":
            inner = draw(user_object(depth))
        else:
            inner = draw(value(selected or (top and name == "Tweet1"), depth))
        if draw(st.integers(0, 5)) == 0 and not (top and name == "user"):  # deep nesting around the value
            levels = draw(st.sampled_from([1, 3, DEFAULT_MAX_DEPTH - 3, DEFAULT_MAX_DEPTH + 5, 3_000]))
            inner = "[" * levels + inner + "]" * levels
        pairs.append(f"{draw(key_literal(name))}{draw(st.sampled_from(['', ' ', chr(10)]))}:{inner}")
    return "{" + ",".join(pairs) + "}"


@st.composite
def user_object(draw: st.DrawFn, depth: int) -> str:
    """`user` at the top: its `email` (at any depth below) is configured (path user.email)."""
    pairs = []
    names = ["email", "name"] if draw(st.integers(0, 2)) > 0 else ["email", "name", "email"]
    for name in draw(st.permutations(names)):
        inner = draw(value(name == "email", depth + 1))
        if draw(st.integers(0, 5)) == 0:
            levels = draw(st.sampled_from([2, 4, DEFAULT_MAX_DEPTH - 2, 5_000]))
            inner = "[" * levels + inner + "]" * levels
        pairs.append(f"{draw(key_literal(name))}:{inner}")
    return "{" + ",".join(pairs) + "}"


@st.composite
def record_text(draw: st.DrawFn) -> bytes:
    text = draw(obj(False, 0, top=True))
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text
    return text.encode("utf-8", "surrogatepass")


@settings(max_examples=150, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(record_text(), min_size=1, max_size=4), st.sampled_from(["mask-all", "drop", "fail"]))
def test_no_ok_output_holds_configured_pii_and_every_record_is_answered_once(texts, policy):
    options = ScreeningOptions(paths=parse_field_paths("Tweet1, user.email"), failure_policy=policy)
    batch = [InputRecord("control", base64.b64encode(json.dumps(CONTROL).encode()).decode())]
    batch += [InputRecord(f"r{i}", base64.b64encode(raw).decode()) for i, raw in enumerate(texts)]
    outcome = screen(batch, options, InProcessComprehend())
    assert [r.record_id for r in outcome.records] == [r.record_id for r in batch]
    assert json.loads(base64.b64decode(outcome.records[0].data)) == CONTROL_OUT
    for record in outcome.records:
        event(f"{record.result} {record.reason_kind or ''}")
        assert not any(needle in (record.reason or "") for needle in NEEDLES)
        if record.result == "Ok":
            text = base64.b64decode(record.data).decode("utf-8")
            assert not any(needle in text for needle in NEEDLES), text
            json.loads(text)  # and it is strict JSON
            event("Ok with PII masked" if "*" in text and record.record_id != "control" else "Ok")
