"""What screening asks of Comprehend: a `Call` per request, a `CallResult` per answer, and the
`PiiService` port that runs a list of calls (adapters/comprehend.py is the AWS one; the tests answer
in process with the emulator's detector); and the `ReviewSink` port that hands uncertain entities to
human review (adapters/review.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pii_redaction.logic.planning import Span
from pii_redaction.logic.review import ReviewCandidate

Api = Literal["ContainsPiiEntities", "DetectPiiEntities"]


@dataclass(frozen=True, slots=True)
class Call:
    api: Api
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class CallResult:
    """What one call returned: labels (Contains) or spans (Detect), or the error that ended it."""

    labels: dict[str, float] | None = None
    spans: tuple[Span, ...] | None = None
    error: str | None = None
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class PiiService(Protocol):
    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        """Run every call (concurrently, within the service's quotas); one result per call, in order."""
        ...


class ReviewSink(Protocol):
    def submit(self, candidates: Sequence[ReviewCandidate]) -> list[bool]:
        """Save each candidate's task object and publish its event; one flag per candidate, True
        when both were done (after the sink's own retries)."""
        ...
