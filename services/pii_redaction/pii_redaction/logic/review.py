"""Uncertain PII for human review (issue 19 item 2): a value with entities whose score falls in the
review band becomes a `ReviewCandidate`. Those entities are masked like any other (fail closed);
the candidate only asks a person whether they are PII, and of which type.

The candidate carries the value's text for the task object (raw-PII bucket, under its key); the
event built from it (`event_data`) carries only ids, offsets, types and scores, never the text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pii_redaction.logic.planning import Span

PREFIX = "pii-review/"
# events/schemas/PiiReviewCandidate.v1.json: at most 100 spans an event.
MAX_SPANS = 100


@dataclass(frozen=True, slots=True)
class ReviewCandidate:
    """One value to review: where it came from, its text (task object only) and its uncertain spans."""

    record_id: str
    field: str
    ordinal: int  # the value's place among its record's inspected values
    text: str
    spans: tuple[Span, ...]

    @property
    def key(self) -> str:
        """The task object's key: derived from the record and value, so a redelivered batch
        rewrites the same object (and publishes an event with the same id)."""
        digest = hashlib.sha256(f"{self.record_id}\0{self.field}\0{self.ordinal}".encode()).hexdigest()
        return f"{PREFIX}{digest[:32]}.json"

    def task_object(self) -> dict[str, Any]:
        """The task object's JSON: the text and its spans (raw-PII bucket only)."""
        return {"text": self.text, "spans": [_span(s) for s in self.spans], "field": self.field,
                "record_id": self.record_id}

    def event_data(self, *, bucket: str, detected_at: str) -> dict[str, Any]:
        """`data` of PiiReviewCandidate: ids, offsets, types and scores; never the text."""
        return {"record_id": self.record_id, "field": self.field, "task_object": f"s3://{bucket}/{self.key}",
                "spans": [_span(s) for s in self.spans], "detected_at": detected_at}


def _span(span: Span) -> dict[str, Any]:
    return {"begin_offset": span.begin, "end_offset": span.end, "type": span.type, "score": span.score}


def in_band(spans: Iterable[Span], band: tuple[float, float]) -> tuple[Span, ...]:
    """The spans scoring in [lower, upper), each once, in order of offset (segment overlaps find
    an entity twice), at most MAX_SPANS.

    >>> in_band([Span("NAME", 4, 9, 0.6), Span("EMAIL", 0, 3, 0.99), Span("NAME", 4, 9, 0.6)], (0.5, 0.9))
    (Span(type='NAME', begin=4, end=9, score=0.6),)
    """
    lower, upper = band
    unique = {(s.begin, s.end, s.type): s for s in spans if lower <= s.score < upper}
    return tuple(unique[k] for k in sorted(unique))[:MAX_SPANS]
