"""Property-based tests of the offset arithmetic: masks, segmentation, packing and merging."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pii_redaction.logic.masking import redact
from pii_redaction.logic.planning import Piece, Span, merge, pack, segment, separator_after, unpack, utf8_len
from tests.hypothesis_profiles import examples

# Text with multi-byte characters: accents (2 bytes), CJK (3), emoji (4), and whitespace to cut at.
TEXT = st.text(alphabet=st.sampled_from(list("abc xyz\n\té中😀👍🏽")), max_size=400)


@st.composite
def text_and_spans(draw):
    text = draw(st.text(alphabet=st.sampled_from(list("ab é😀 \n")), min_size=1, max_size=200))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=10, unique=True)))
    spans = [Span("NAME", a, b, 0.9) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
    return text, spans


@given(text_and_spans())
def test_mask_keeps_length_masks_every_span_and_nothing_else(case):
    text, spans = case
    out = redact(text, spans, "mask", "#")
    assert len(out) == len(text)
    inside = {i for s in spans for i in range(s.begin, s.end)}
    for i, (before, after) in enumerate(zip(text, out, strict=True)):
        assert after == ("#" if i in inside else before)


@given(text_and_spans())
def test_type_masks_replace_exactly_the_spans(case):
    text, spans = case
    out = redact(text, spans, "type")
    # Removing the tags from the output and the spans from the input leaves the same text.
    rebuilt, cursor = [], 0
    for s in sorted(spans, key=lambda s: s.begin):
        rebuilt.append(text[cursor:s.begin])
        cursor = s.end
    rebuilt.append(text[cursor:])
    assert out.replace("[NAME]", "") == "".join(rebuilt)


@settings(max_examples=examples(200))
@given(TEXT, st.integers(24, 120), st.data())
def test_segments_cover_the_value_within_the_byte_limit(text, max_bytes, data):
    overlap = data.draw(st.integers(0, max_bytes // 2 - 1))
    segments = segment(text, max_bytes, overlap)
    for offset, part in segments:
        assert text[offset:offset + len(part)] == part  # offsets are code points into the value
        assert utf8_len(part) <= max_bytes or len(segments) == 1
    assert segments[0][0] == 0
    ends = [offset + len(part) for offset, part in segments]
    assert max(ends) == len(text)
    for (o1, p1), (o2, _) in zip(segments, segments[1:], strict=False):
        assert o1 < o2 <= o1 + len(p1)  # progress, and no gap between segments
        # At least half the overlap is shared (less up to one character at the cut).
        shared = utf8_len(text[o2:o1 + len(p1)])
        assert shared >= min(overlap // 2 - 4, utf8_len(p1) - max_bytes // 2)


@settings(max_examples=examples(200))
@given(st.lists(TEXT.filter(bool), min_size=1, max_size=12), st.integers(1, 800))
def test_packed_offsets_map_back_to_each_piece(texts, target):
    pieces = [Piece(i, 0, t) for i, t in enumerate(texts)]
    packs = pack(pieces, target, 10_000)
    assert [p for pk in packs for p, _ in pk.pieces] == pieces
    for pk in packs:
        parts = [p.text for p, _ in pk.pieces]
        assert pk.text == "".join(t + separator_after(t) for t in parts[:-1]) + parts[-1]
        # A span covering the whole pack maps back to each piece whole.
        mapped = unpack(pk, [Span("X", 0, len(pk.text), 1.0)])
        assert [(p.value_id, s.begin, s.end) for p, s in mapped] == [
            (p.value_id, 0, len(p.text)) for p, _ in pk.pieces]


@given(st.lists(st.tuples(st.integers(0, 100), st.integers(1, 20)), max_size=15))
def test_merged_spans_cover_the_same_characters_without_overlap(raw):
    spans = [Span("T", b, b + n, 0.5) for b, n in raw]
    merged = merge(spans)
    covered = {i for s in spans for i in range(s.begin, s.end)}
    assert {i for s in merged for i in range(s.begin, s.end)} == covered
    assert all(a.end <= b.begin for a, b in zip(merged, merged[1:], strict=False))
