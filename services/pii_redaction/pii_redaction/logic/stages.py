"""The stages of screening one batch, each a function, in the order `screening.screen` runs them:
decode, select, segment and pack, contains, detect, review, mask, encode. Pure: Comprehend is reached
only through the `PiiService` port, human review through the `ReviewSink` port.

A value is one non-empty selected field of one record; `value_id` is its index in the batch's list.
`uninspected` collects the values that Comprehend could not answer for (a failed call), whose records
then fail closed in `mask`; `unsaved` the values whose review task could not be saved (their
records fail closed too, with their own reason kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pii_redaction.logic.batch import ApiUsage, ScreeningOptions
from pii_redaction.logic.decoding import RecordError, b64encode, decode_record, refused, serialise
from pii_redaction.logic.fields import Slot
from pii_redaction.logic.fields import select as select_slots
from pii_redaction.logic.masking import mask_whole, redact
from pii_redaction.logic.planning import (
    Pack,
    Piece,
    Span,
    crossing,
    looks_sensitive,
    merge,
    pack,
    segment,
    unpack,
)
from pii_redaction.logic.ports import Api, Call, CallResult, PiiService, ReviewSink
from pii_redaction.logic.review import ReviewCandidate, in_band
from pii_redaction.models import InputRecord, RecordOutcome
from pitwall_shared import pricing

MARKER_KEY = "_pii_redaction"
MARKER_MASKED = "uninspected-fields-masked"


@dataclass
class Parsed:
    """A record that decoded: its answer (filled in by the later stages), source and document."""

    outcome: RecordOutcome
    source: str  # the record's base64 data as received
    document: Any
    slots: list[Slot] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Value:
    record: Parsed
    slot: Slot


def decode(records: Sequence[InputRecord], options: ScreeningOptions) -> tuple[list[RecordOutcome], list[Parsed]]:
    """1. Every record alone: a strict JSON document, or its answer now (never screened)."""
    outcomes: list[RecordOutcome] = []
    parsed: list[Parsed] = []
    for record in records:
        try:
            document = decode_record(record.data, options.max_depth)
        except RecordError as error:
            outcomes.append(refused(record, error, options))
            continue
        outcomes.append(RecordOutcome(record.record_id, "Ok", ""))
        parsed.append(Parsed(outcomes[-1], record.data or "", document))
    return outcomes, parsed


def select(parsed: Sequence[Parsed], options: ScreeningOptions) -> list[Value]:
    """2. The configured fields' values of every record (empty ones are never sent)."""
    values: list[Value] = []
    for item in parsed:
        item.slots = select_slots(item.document, options.paths)
        values.extend(Value(item, slot) for slot in item.slots if slot.text)
    return values


def segment_and_pack(values: Sequence[Value], options: ScreeningOptions) -> list[Pack]:
    """3. Each value one piece (overlapping segments when over the request limit), packed into
    Contains requests. Values that look as if they could hold PII are packed together, the rest
    together, so that a clean value rarely shares a flagged pack (and the Detect units that follow).
    Every value is still sent; only the grouping changes, and results do not depend on it."""
    sensitive: list[Piece] = []
    plain: list[Piece] = []
    for value_id, value in enumerate(values):
        for offset, text in segment(value.slot.text, options.max_request_bytes, options.segment_overlap_bytes):
            piece = Piece(value_id, offset, text)
            (sensitive if looks_sensitive(text) else plain).append(piece)
    return [*pack(sensitive, options.contains_pack_chars, options.max_request_bytes),
            *pack(plain, options.contains_pack_chars, options.max_request_bytes)]


def contains(packs: Sequence[Pack], service: PiiService, options: ScreeningOptions,
             usage: dict[str, ApiUsage], uninspected: set[int]) -> list[Piece]:
    """4. ContainsPiiEntities on every pack; the pieces of packs with any label go on to Detect."""
    results = _run(service, "ContainsPiiEntities", packs, options, usage)
    flagged: list[Piece] = []
    for pack_, result in zip(packs, results, strict=True):
        if not result.ok:
            uninspected.update(piece.value_id for piece, _ in pack_.pieces)
        elif result.labels:
            # Any label, whatever its type or score: Contains only decides what Detect looks at.
            flagged.extend(piece for piece, _ in pack_.pieces)
    return flagged


def detect(flagged: Sequence[Piece], service: PiiService, options: ScreeningOptions,
           usage: dict[str, ApiUsage], uninspected: set[int]) -> dict[int, list[Span]]:
    """5. DetectPiiEntities on the flagged pieces, packed again; the wanted spans by value, in each
    value's own offsets."""
    packs = pack(flagged, options.detect_pack_chars, options.max_request_bytes)
    spans: dict[int, list[Span]] = {}
    again = _detect_packs(packs, service, options, usage, uninspected, spans)
    # A span that crossed a boundary: its pieces are screened again, each alone (one request each),
    # and keep what the packed answer masked too (clipped to each piece): never less than alone.
    _detect_packs([Pack(piece.text, ((piece, 0),)) for piece in again], service, options, usage, uninspected, spans)
    return spans


def _detect_packs(packs: Sequence[Pack], service: PiiService, options: ScreeningOptions,
                  usage: dict[str, ApiUsage], uninspected: set[int], spans: dict[int, list[Span]]) -> list[Piece]:
    """DetectPiiEntities on `packs`; wanted spans added to `spans`; returns the pieces of packed
    requests that an entity crossed (any entity, wanted or not: it may have displaced one)."""
    results = _run(service, "DetectPiiEntities", packs, options, usage)
    again: list[Piece] = []
    for pack_, result in zip(packs, results, strict=True):
        if not result.ok:
            uninspected.update(piece.value_id for piece, _ in pack_.pieces)
            continue
        wanted = [s for s in result.spans or () if options.wants(s.type) and s.score >= options.min_score]
        for piece, span in unpack(pack_, wanted):
            spans.setdefault(piece.value_id, []).append(span)
        if len(pack_.pieces) > 1:
            again.extend(pack_.pieces[index][0] for index in sorted(crossing(pack_, result.spans or ())))
    return again


def review(values: Sequence[Value], spans: dict[int, list[Span]], uninspected: set[int],
           options: ScreeningOptions, sink: ReviewSink | None) -> tuple[int, set[int]]:
    """6. Values with entities in the review band go to human review (they are masked all the same,
    in `mask`); records that fail closed anyway send none. Returns how many candidates were
    submitted and the values whose candidate could not be saved."""
    if sink is None or options.review_band is None:
        return 0, set()
    failing = {id(values[value_id].record) for value_id in uninspected}
    ordinals: dict[int, int] = {}
    candidates: list[tuple[int, ReviewCandidate]] = []
    for value_id, value in enumerate(values):
        ordinal = ordinals[id(value.record)] = ordinals.get(id(value.record), -1) + 1
        if id(value.record) in failing:
            continue
        uncertain = in_band(spans.get(value_id, ()), options.review_band)
        if uncertain:
            candidates.append((value_id, ReviewCandidate(value.record.outcome.record_id, value.slot.field, ordinal,
                                                         value.slot.text, uncertain)))
    if not candidates:
        return 0, set()
    saved = sink.submit([candidate for _, candidate in candidates])
    return len(candidates), {value_id for (value_id, _), ok in zip(candidates, saved, strict=True) if not ok}


def mask(values: Sequence[Value], spans: dict[int, list[Span]], uninspected: set[int],
         options: ScreeningOptions, unsaved: set[int] | None = None) -> None:
    """7. Masks where entities were found; a record with any uninspected value fails closed whole,
    and so does one whose review task could not be saved (the raw backup keeps its source)."""
    failed = {id(values[value_id].record): (values[value_id].record, "uninspected") for value_id in uninspected}
    for value_id in unsaved or ():
        failed.setdefault(id(values[value_id].record), (values[value_id].record, "review-unsaved"))
    for value_id, value in enumerate(values):
        if id(value.record) in failed:
            continue
        merged = merge(spans.get(value_id, ()))
        if merged:
            value.slot.write(redact(value.slot.text, merged, options.mask_style, options.mask_character))
            value.record.outcome.entities.update(s.type for s in merged)
    for item, kind in failed.values():
        _fail_closed(item, options, kind)


def encode(parsed: Sequence[Parsed], options: ScreeningOptions) -> None:
    """8. Every record still Ok is written from its parsed document, changed or not: the output is
    what was inspected, never the bytes that came in."""
    for item in parsed:
        if item.outcome.result == "Ok":
            item.outcome.data = b64encode(serialise(item.document, options.newline))


def _run(service: PiiService, api: Api, packs: Sequence[Pack], options: ScreeningOptions,
         usage: dict[str, ApiUsage]) -> list[CallResult]:
    calls = [Call(api, p.text, options.language) for p in packs]
    results = service.run(calls) if calls else []
    for call, result in zip(calls, results, strict=True):
        line = usage.setdefault(call.api, ApiUsage())
        if result.ok:
            # Comprehend bills answered requests: 100-character units, 3-unit minimum (shared pricing).
            line.requests += 1
            line.characters += len(call.text)
            line.billed_units += pricing.pii_units(len(call.text))
        else:
            line.failed_requests += 1
        if result.latency_ms is not None:
            line.latencies_ms.append(result.latency_ms)
    return results


_REASONS = {"uninspected": "fields could not be inspected",
            "review-unsaved": "the review task of an uncertain entity could not be saved"}


def _fail_closed(item: Parsed, options: ScreeningOptions, kind: str = "uninspected") -> None:
    outcome = item.outcome
    outcome.reason, outcome.reason_kind = _REASONS[kind], kind
    outcome.entities.clear()
    if options.failure_policy == "drop":
        outcome.result, outcome.data = "Dropped", ""
    elif options.failure_policy == "fail":
        # The record as it came (Firehose writes its source under the error prefix either way).
        outcome.result, outcome.data = "ProcessingFailed", item.source
    else:
        for slot in item.slots:
            if slot.text:
                slot.write(mask_whole(slot.text, options.mask_style, options.mask_character))
        item.document[MARKER_KEY] = MARKER_MASKED
        outcome.masked_uninspected = True
