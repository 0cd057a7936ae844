"""JSON Lines split and joined on "\\n" only (issue 16, item 2)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pitwall_shared.jsonlines import join_lines, loads_lines, non_blank_lines, split_lines, to_line
from tests.fuzz.strategies import LINE_BREAKERS, ODD_CHARACTERS, odd_text

values = st.recursive(st.none() | st.booleans() | st.integers() | odd_text,
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner, max_size=3),
                      max_leaves=10)


def test_every_character_splitlines_breaks_at_stays_inside_its_line():
    documents = [{"text": f"a{char}b"} for char in LINE_BREAKERS + ODD_CHARACTERS]
    text = join_lines(to_line(document) for document in documents)
    assert len(text.splitlines()) > len(documents)  # what str.splitlines() would have done
    assert loads_lines(text) == documents
    assert loads_lines(text.encode()) == documents


@given(st.lists(values, max_size=6))
def test_any_values_read_back_in_order(documents):
    text = join_lines(to_line(document) for document in documents)
    assert [json.loads(line) for line in split_lines(text)] == documents
    assert [json.loads(line) for line in split_lines(text.encode())] == documents


def test_a_final_newline_ends_the_last_line_and_blank_lines_can_be_dropped():
    assert split_lines("a\nb\n") == ["a", "b"]
    assert split_lines("a\nb") == ["a", "b"]
    assert split_lines("") == []
    assert split_lines("a\n\nb\n") == ["a", "", "b"]
    assert non_blank_lines(b"a\n \n\nb\n") == [b"a", b"b"]
