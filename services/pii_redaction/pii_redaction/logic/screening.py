"""Screening one Firehose batch: every record decoded alone, its chosen fields asked of Comprehend in
two stages (ContainsPiiEntities on packed values, DetectPiiEntities only on packs it flags), what
was found masked (uncertain entities also handed to human review), whatever could not be inspected failed closed, every record answered once.

Pure: Comprehend is reached through the `PiiService` port (the adapter runs the calls concurrently,
paced and retried); nothing here does I/O, reads the environment or logs contents.
"""

from __future__ import annotations

from collections.abc import Sequence

from pii_redaction.logic.batch import ApiUsage, BatchOutcome, ScreeningOptions
from pii_redaction.logic.ports import PiiService, ReviewSink
from pii_redaction.logic.stages import (
    contains,
    decode,
    detect,
    encode,
    mask,
    review,
    segment_and_pack,
    select,
)
from pii_redaction.models import InputRecord


def screen(records: Sequence[InputRecord], options: ScreeningOptions, service: PiiService,
           reviews: ReviewSink | None = None) -> BatchOutcome:
    """Screen a batch; one outcome per input record, in order. The stages (logic/stages.py):

    1. `decode`: each record alone → a strict JSON document, or its answer (never screened)
    2. `select`: the configured fields' non-empty values
    3. `segment_and_pack`: values → pieces (segments over the request limit) → Contains packs
    4. `contains`: ContainsPiiEntities per pack → the pieces of packs with any label
    5. `detect`: DetectPiiEntities on those, packed again → entity spans per value
    6. `review`: values with entities in the review band handed to human review (`reviews`), masked all the same
    7. `mask`: spans masked; a record with a value Comprehend could not answer for (or whose review
       task could not be saved) fails closed
    8. `encode`: every Ok record written canonically from its document
    """
    outcomes, parsed = decode(records, options)
    values = select(parsed, options)
    usage: dict[str, ApiUsage] = {}
    uninspected: set[int] = set()
    flagged = contains(segment_and_pack(values, options), service, options, usage, uninspected)
    spans = detect(flagged, service, options, usage, uninspected)
    submitted, unsaved = review(values, spans, uninspected, options, reviews)
    mask(values, spans, uninspected, options, unsaved)
    encode(parsed, options)
    return BatchOutcome(outcomes, usage, fields_inspected=len(values), review_candidates=submitted)
