"""The one strict JSON reader every entry point uses (`pitwall_shared.inputs.read_json`), fuzzed with
the hazards of tests/fuzz/strategies.py: deep nesting, duplicate keys, Unicode line separators, huge
numbers, lone surrogates, bytes that are not UTF-8.

Property: the reader returns what `json.loads` returns for a clean document, or raises `BadInput`
with a problem of a known kind whose reason is one of the reader's fixed sentences (so it cannot
echo the input); nothing else is ever raised (no RecursionError, no UnicodeDecodeError).
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pitwall_shared.inputs import MAX_DEPTH, BadInput, read_json
from tests.fuzz.strategies import DEPTHS, json_bodies, json_texts, nested_in, with_duplicate_key
from tests.hypothesis_profiles import examples

KINDS = {"not_json", "not_utf8", "duplicate_key", "not_a_number", "number_out_of_range", "too_deep", "lone_surrogate", "inexact_number"}
# The reasons read_json can give. json's own messages (`error.msg`, listed from json/decoder.py and
# the C scanner) name the syntax, never the text.
JSON_MESSAGES = ("Expecting value", "Expecting property name enclosed in double quotes", "Expecting ':' delimiter",
                 "Expecting ',' delimiter", "Unterminated string starting at", "Invalid control character at",
                 "Invalid \\escape", "Invalid \\uXXXX escape", "Extra data",
                 "Unexpected UTF-8 BOM (decode using utf-8-sig)")
REASON = re.compile(r"not valid JSON \((?:(?:" + "|".join(map(re.escape, JSON_MESSAGES)) + r") at line \d+ column \d+"
                    r"|not UTF-8|a key appears twice in one object|-?\w+ is not a JSON number|a number is out of range"
                    rf"|nested deeper than {MAX_DEPTH} levels|a string holds a lone surrogate)\)")
VALID = {"messages": [{"seq": 1, "type": "race_end"}], "detail": {"event_id": "e-1", "data": {"usage": [1, 2.5]}}}


def _depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _check(raw):
    try:
        value = read_json(raw)
    except BadInput as error:
        [problem] = error.problems
        assert problem.kind in KINDS and problem.field == "body", problem
        assert REASON.fullmatch(problem.reason), problem.reason
        return None
    if raw:
        assert value == json.loads(raw)
    assert _depth(value) <= MAX_DEPTH
    return value


@settings(max_examples=examples(300))
@given(json_bodies())
@example(b'{"a": 1, "a": 2}')
@example(b"[" * 100_000 + b"]" * 100_000)
@example('{"line": "a\u2028b\x85c"}'.encode())
@example("9" * 5_000)
@example(b'"\\ud800"')
@example('{"a":1}'.encode("utf-16"))
def test_any_body_is_read_or_refused_with_a_named_problem(raw):
    _check(raw)


@settings(max_examples=examples(100))
@given(json_texts())
def test_any_text_is_read_or_refused_with_a_named_problem(text):
    _check(text)


@settings(max_examples=examples(100))
@given(with_duplicate_key(VALID))
def test_a_repeated_key_is_never_accepted(text):
    with pytest.raises(BadInput):
        read_json(text)


@settings(max_examples=examples(50))
@given(st.sampled_from(DEPTHS) | st.integers(1, 2_000), st.sampled_from(["[", '{"k":', '{"[{":']), st.booleans())
def test_nesting_past_the_limit_is_too_deep(depth, opener, spaced):
    closer = "]" if opener == "[" else "}"
    text = (opener + (" " if spaced else "")) * depth + "1" + closer * depth
    if depth <= MAX_DEPTH:
        assert _depth(read_json(text)) == depth
        return
    with pytest.raises(BadInput) as refused:
        read_json(text)
    assert refused.value.kind == "too_deep"


@settings(max_examples=examples(50))
@given(nested_in(VALID))
def test_a_deep_value_inside_a_valid_document(text):
    _check(text)


def test_utf16_is_not_utf8():
    with pytest.raises(BadInput) as refused:
        read_json('{"a":1}'.encode("utf-16"))
    assert refused.value.kind == "not_utf8"
