"""Masks: what a detected span becomes in the output (`mask`: one mask character per code point,
length kept; `type`: an `[EMAIL]`-style tag), and the whole-value mask of fail-closed records."""

from __future__ import annotations

from collections.abc import Sequence

from pii_redaction.logic.planning import Span


def redact(text: str, spans: Sequence[Span], style: str = "mask", mask_character: str = "*") -> str:
    """Replace every span of `text` (non-overlapping, any order).

    >>> redact("call 555-0100 now", [Span("PHONE", 5, 13, 0.99)])
    'call ******** now'
    >>> redact("call 555-0100 now", [Span("PHONE", 5, 13, 0.99)], style="type")
    'call [PHONE] now'
    """
    parts = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s.begin):
        parts.append(text[cursor:span.begin])
        if style == "type":
            parts.append(f"[{span.type}]")
        else:
            parts.append(mask_character * (span.end - span.begin))
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_whole(text: str, style: str = "mask", mask_character: str = "*") -> str:
    """The value of a field that could not be inspected: nothing of it survives."""
    return "[REDACTED]" if style == "type" else mask_character * len(text)
