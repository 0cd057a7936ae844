"""How values become Comprehend requests and how answers map back: segmentation of values over the
request limit, packing of short values into one request, and offsets back to each value.

Everything here counts code points (Python `str` indices, which is what Comprehend's offsets are)
except the request limit, which Comprehend applies to UTF-8 bytes.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# A blank line between packed values. The emulator reads paragraphs apart, so there a packed value
# gets the answer it would get alone; Comprehend documents no such thing, so nothing relies on it
# for safety: a value that does not end a sentence is closed with " ." first (a sentence boundary
# stops a reader's context far better than a blank line alone: services/pii_redaction/README.md,
# "Packing"), and a span reaching outside its piece re-screens the pieces it touches (`crossing`).
SEPARATOR = "\n\n"
CLOSING = " ."
_SENTENCE_END = re.compile(r"[.!?…。][\"')\]]*\s*$")


def separator_after(text: str) -> str:
    """What follows `text` in a pack: a blank line, after " ." when `text` does not end a sentence.

    >>> separator_after("Call me."), separator_after("Ask for Maria")
    ('\\n\\n', ' .\\n\\n')
    """
    return SEPARATOR if _SENTENCE_END.search(text) else CLOSING + SEPARATOR


@dataclass(frozen=True, slots=True)
class Span:
    """An entity in a value: code points [begin, end)."""

    type: str
    begin: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of one value sent to Comprehend: the whole value, or one segment of a large one."""

    value_id: int
    offset: int
    text: str


@dataclass(frozen=True, slots=True)
class Pack:
    """One request's text and where each piece sits in it."""

    text: str
    pieces: tuple[tuple[Piece, int], ...]


# A digit, an @, a URL, or a capitalised word inside a sentence (names, places): cheap signs that a
# value may hold PII. Only used to order values for packing, never to skip one.
_SENSITIVE_SIGNS = re.compile(r"[\d@]|https?:|www\.|(?<=[^.!?\s]\s)(?:[A-Z][a-z]|[A-Z]{2})")


def looks_sensitive(text: str) -> bool:
    """True when `text` shows a sign of possible PII.

    >>> looks_sensitive("Thanks, all good."), looks_sensitive("Thanks, Maria."), looks_sensitive("I'm 42")
    (False, True, True)
    """
    return _SENSITIVE_SIGNS.search(text) is not None


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _char_boundary(data: bytes, cut: int) -> int:
    # Step back over UTF-8 continuation bytes (10xxxxxx) so a cut never splits a character.
    while 0 < cut < len(data) and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _whitespace_before(data: bytes, lo: int, hi: int) -> int:
    best = max(data.rfind(b" ", lo, hi), data.rfind(b"\n", lo, hi), data.rfind(b"\t", lo, hi))
    return best + 1 if best >= lo else -1


def _whitespace_after(data: bytes, lo: int, hi: int) -> int:
    found = [i for i in (data.find(b" ", lo, hi), data.find(b"\n", lo, hi), data.find(b"\t", lo, hi)) if i != -1]
    return min(found) + 1 if found else -1


def segment(text: str, max_bytes: int, overlap_bytes: int) -> list[tuple[int, str]]:
    """Split `text` into `(code-point offset, segment)` of at most `max_bytes` UTF-8 bytes each.

    Cuts fall after whitespace where there is some in the second half of a segment; consecutive
    segments overlap by about `overlap_bytes`, so an entity shorter than the overlap lies whole in
    at least one segment.

    >>> [(o, len(s)) for o, s in segment("ab " * 10, 12, 4)]
    [(0, 12), (9, 12), (18, 12)]
    """
    if overlap_bytes * 2 >= max_bytes:
        raise ValueError("overlap must be less than half a segment")
    if len(text) * 4 <= max_bytes:  # a UTF-8 character is at most 4 bytes: surely fits, skip encoding
        return [(0, text)]
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return [(0, text)]
    segments: list[tuple[int, str]] = []
    start_byte, start_char = 0, 0
    while True:
        cut = _char_boundary(data, start_byte + max_bytes)
        if start_byte + max_bytes >= len(data):
            segments.append((start_char, data[start_byte:].decode("utf-8")))
            return segments
        soft = _whitespace_before(data, start_byte + max_bytes // 2, cut)
        if soft > start_byte:
            cut = soft
        chunk = data[start_byte:cut].decode("utf-8")
        segments.append((start_char, chunk))
        # Next segment starts `overlap_bytes` before the cut, moved forward to a word start when one
        # is near (so at least half the overlap remains).
        back = _char_boundary(data, max(cut - overlap_bytes, start_byte + 1))
        word = _whitespace_after(data, back, back + overlap_bytes // 2)
        next_byte = word if word != -1 else back
        if next_byte <= start_byte:  # a character wider than the overlap: continue at the cut
            next_byte = cut
        start_char += len(data[start_byte:next_byte].decode("utf-8"))
        start_byte = next_byte


def pack(pieces: Iterable[Piece], target_chars: int, max_bytes: int) -> list[Pack]:
    """Group pieces in order into requests of about `target_chars` (never over `max_bytes`)."""
    packs: list[Pack] = []
    texts: list[str] = []
    members: list[tuple[Piece, int]] = []
    chars = size = 0
    separator = ""  # what goes before the next piece (after the last one packed)

    def flush() -> None:
        nonlocal texts, members, chars, size
        if members:
            packs.append(Pack("".join(texts), tuple(members)))
        texts, members, chars, size = [], [], 0, 0

    for piece in pieces:
        # At most 4 bytes a character: only long pieces need encoding to know their size.
        piece_bytes = len(piece.text) * 4 if len(piece.text) * 4 < max_bytes // 8 else utf8_len(piece.text)
        sep_chars = len(separator) if members else 0  # separators are ASCII: chars == bytes
        if members and (chars + sep_chars + len(piece.text) > target_chars or size + sep_chars + piece_bytes > max_bytes):
            flush()
            sep_chars = 0
        if members:
            texts.append(separator)
        members.append((piece, chars + sep_chars))
        texts.append(piece.text)
        chars += sep_chars + len(piece.text)
        size += sep_chars + piece_bytes
        separator = separator_after(piece.text)
    flush()
    return packs


def unpack(pack_: Pack, spans: Sequence[Span]) -> list[tuple[Piece, Span]]:
    """Assign each span of a packed request to its piece, in the piece's value's offsets.

    A span that reaches over a separator is clipped to each piece it touches (the service should
    never return one; clipping keeps every character it named masked).
    """
    starts = [start for _, start in pack_.pieces]
    out = []
    for span in spans:
        # The last piece starting at or before the span, then any later pieces the span reaches.
        index = max(bisect_right(starts, span.begin) - 1, 0)
        while index < len(starts) and starts[index] < span.end:
            piece, start = pack_.pieces[index]
            begin, stop = max(span.begin, start), min(span.end, start + len(piece.text))
            if begin < stop:
                out.append((piece, Span(span.type, begin - start + piece.offset, stop - start + piece.offset,
                                        span.score)))
            index += 1
    return out


def crossing(pack_: Pack, spans: Sequence[Span]) -> set[int]:
    r"""Indexes (into `pack_.pieces`) of the pieces touched by a span that does not lie inside one
    piece: it reaches into a separator or joins two pieces. Their answer is not the one each would
    get alone (context crossed the boundary), so they are screened again, alone.

    >>> p = Pack("ab\n\ncd\n\nef", ((Piece(0, 0, "ab"), 0), (Piece(1, 0, "cd"), 4), (Piece(2, 0, "ef"), 8)))
    >>> sorted(crossing(p, [Span("NAME", 1, 5, 0.9)])), sorted(crossing(p, [Span("NAME", 4, 6, 0.9)]))
    ([0, 1], [])
    >>> sorted(crossing(p, [Span("NAME", 6, 7, 0.9)]))  # a separator character alone: the piece before it
    [1]
    """
    starts = [start for _, start in pack_.pieces]
    touched: set[int] = set()
    for span in spans:
        first = max(bisect_right(starts, span.begin) - 1, 0)
        piece, start = pack_.pieces[first]
        if start <= span.begin and span.end <= start + len(piece.text):
            continue  # inside one piece
        index = first
        touched.add(first)
        while index + 1 < len(starts) and starts[index + 1] < span.end:
            index += 1
            touched.add(index)
    return touched


def merge(spans: Iterable[Span]) -> list[Span]:
    """Union overlapping spans (segment overlaps find an entity twice, or once cut short); the merged
    span keeps the type of its best-scored part.

    >>> merge([Span("PHONE", 5, 9, 0.9), Span("PHONE", 2, 7, 0.8), Span("NAME", 20, 25, 0.99)])
    [Span(type='PHONE', begin=2, end=9, score=0.9), Span(type='NAME', begin=20, end=25, score=0.99)]
    """
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.begin, -s.end)):
        if merged and span.begin < merged[-1].end:
            last = merged[-1]
            best = last if last.score >= span.score else span
            merged[-1] = Span(best.type, last.begin, max(last.end, span.end), max(last.score, span.score))
        else:
            merged.append(span)
    return merged
