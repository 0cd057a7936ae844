"""pitwall_shared.inputs: the strict reader's depth check (counted on the text, without recursion,
before the parser runs) and its exact-numbers option."""

from __future__ import annotations

import pytest

from pitwall_shared import inputs
from pitwall_shared.inputs import BadInput, nesting_depth, read_json


@pytest.mark.parametrize("text,depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": 2}]}', 3), ('["[[[", "]]]"]', 1), ('["\\"[[[\\\\", [2]]', 2),
    ('{"a": "unterminated [[[[', 1), ("[" * 40 + "]" * 40, 40), ("[]" * 50, 1),
])
def test_nesting_depth_counts_brackets_outside_strings(text, depth):
    assert nesting_depth(text, 1_000) == depth


def test_nesting_depth_is_capped_past_the_limit():
    assert nesting_depth("[" * 100_000, 32) == 33


def test_deep_text_is_refused_before_the_parser_sees_it(monkeypatch):
    def parser_must_not_run(*args, **kwargs):
        raise AssertionError("json.loads ran on text deeper than the limit")

    monkeypatch.setattr(inputs.json, "loads", parser_must_not_run)
    for raw in ("[" * 33 + "]" * 33, b"[" * 300_000 + b"]" * 300_000):
        with pytest.raises(BadInput) as error:
            read_json(raw)
        assert error.value.kind == "too_deep"


def test_depth_at_the_limit_is_read():
    expected: list = []
    for _ in range(31):
        expected = [expected]
    assert read_json("[" * 32 + "]" * 32) == expected


@pytest.mark.parametrize("text", ["[0.10000000000000000001]", "[1e-400]", "[4111111111111111111.0]"])
def test_exact_numbers_refuses_decimals_a_double_does_not_hold(text):
    assert read_json(text) is not None  # accepted by default (API unchanged)
    with pytest.raises(BadInput) as error:
        read_json(text, exact_numbers=True)
    assert error.value.kind == "inexact_number"


@pytest.mark.parametrize("text,value", [("[1E5]", [100000.0]), ("[-0.0]", [-0.0]), ("[2.5e-3]", [0.0025]),
                                        ("[123456789012345678901234567890]", [123456789012345678901234567890])])
def test_exact_numbers_keeps_numbers_a_double_holds(text, value):
    assert read_json(text, exact_numbers=True) == value
