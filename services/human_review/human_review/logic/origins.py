"""Where a `ReviewCandidate` may come from and which task objects it may name (issue 16 item 6).

The stack lists both (`ReviewCandidateSources`, `ReviewTaskObjectBuckets` in template.yaml; the
EventBridge rule matches only the listed sources). The trigger refuses the rest here as well, so a
candidate put on the queue some other way cannot start a loop, nor make a reviewer's page (A2I's
execution role) read an object outside the listed buckets. Nothing listed: every candidate is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from pitwall_shared.inputs import Problem


def _listed(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class CandidateOrigins:
    """The sources a `ReviewCandidate` may have and the buckets its `task_object_s3_uri` may name.

    >>> origins = CandidateOrigins.of("acme.vision", "frames")
    >>> origins.problems("acme.vision", {"task_object_s3_uri": "s3://frames/a.png"})
    []
    >>> [p.kind for p in origins.problems("evil.corp", {"task_object_s3_uri": "s3://secrets/a.png"})]
    ['unlisted_source', 'unlisted_bucket']
    """

    sources: frozenset[str] = frozenset()
    buckets: frozenset[str] = frozenset()

    @classmethod
    def of(cls, sources: str, buckets: str) -> CandidateOrigins:
        """From the comma-separated settings (`REVIEW_CANDIDATE_SOURCES`, `TASK_OBJECT_BUCKETS`)."""
        return cls(_listed(sources), _listed(buckets))

    def problems(self, source: str, data: object) -> list[Problem]:
        """What is wrong with a candidate's origin; names the field, never the value sent."""
        found: list[Problem] = []
        if source not in self.sources:
            found.append(Problem("source", "not a ReviewCandidate source this stack lists (ReviewCandidateSources)",
                                 "unlisted_source"))
        uri = data.get("task_object_s3_uri") if isinstance(data, dict) else None
        if isinstance(uri, str) and urlparse(uri).netloc not in self.buckets:
            found.append(Problem("detail.data.task_object_s3_uri",
                                 "not in a bucket this stack lists (ReviewTaskObjectBuckets)", "unlisted_bucket"))
        return found
