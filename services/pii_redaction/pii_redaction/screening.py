"""Screening one Firehose batch: decode each record, select its fields, ask Comprehend in two stages
(`ContainsPiiEntities` on packed values, `DetectPiiEntities` only on packs it flags), mask what was
found, and fail closed for whatever could not be inspected.

Pure: Comprehend is reached through the `PiiService` protocol (the adapter runs the calls
concurrently, paced and retried); nothing here does I/O, reads the environment or logs contents.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pii_redaction.fields import FieldPath, Slot, select
from pii_redaction.masking import mask_whole, redact
from pii_redaction.planning import Pack, Piece, Span, merge, pack, segment, unpack
from pitwall_shared import pricing
from pitwall_shared.inputs import BadInput, read_json

Api = Literal["ContainsPiiEntities", "DetectPiiEntities"]
Result = Literal["Ok", "Dropped", "ProcessingFailed"]

# "The maximum string size is 100 KB" (Comprehend API reference); its KB is 1,000 bytes.
COMPREHEND_MAX_BYTES = 100_000
# Firehose's maximum record size before base64 encoding is 1,000 KiB (Amazon Data Firehose quotas).
FIREHOSE_MAX_RECORD_BYTES = 1_000 * 1024
MARKER_KEY = "_pii_redaction"
MARKER_MASKED = "uninspected-fields-masked"
# Nesting deeper than this is refused (PII_MAX_DEPTH). The depth is measured on the text without
# recursion; the json module's parser and writer recurse once per level, so the limit also keeps
# them far below Python's recursion limit (1,000 frames).
DEFAULT_MAX_DEPTH = 128
BOM = "\ufeff"
# Records that cannot be read as a JSON object at all: ProcessingFailed whatever the policy.
UNREADABLE = frozenset({"no-data", "bad-base64", "too-large", "not-utf8", "not-json", "not-object"})
# JSON that could be read but not written back as exactly what was read (and so inspected): refused
# per PII_FAILURE_POLICY (`drop`: Dropped; `fail` and `mask-all`: ProcessingFailed, since there is no
# faithful document to mask).
REFUSED = frozenset({"duplicate-key", "not-a-number", "number-out-of-range", "inexact-number",
                     "lone-surrogate", "too-deep"})


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


@dataclass(frozen=True)
class ScreeningOptions:
    """The settings screening needs, free of the environment."""

    paths: tuple[FieldPath, ...]
    entity_types: frozenset[str] = frozenset({"ALL"})
    min_score: float = 0.0
    mask_style: str = "mask"
    mask_character: str = "*"
    language: str = "en"
    failure_policy: str = "mask-all"
    newline: bool = True
    contains_pack_chars: int = 600
    detect_pack_chars: int = 5_000
    max_request_bytes: int = COMPREHEND_MAX_BYTES
    segment_overlap_bytes: int = 2_000
    max_depth: int = DEFAULT_MAX_DEPTH

    def wants(self, entity_type: str) -> bool:
        return "ALL" in self.entity_types or entity_type in self.entity_types


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One Firehose record; `data` is None when the record had no `data` string (missing, null, other)."""

    record_id: str
    data: str | None


@dataclass
class RecordOutcome:
    record_id: str
    result: Result
    data: str
    reason: str | None = None
    reason_kind: str | None = None
    masked_uninspected: bool = False
    entities: Counter[str] = field(default_factory=Counter)


@dataclass
class ApiUsage:
    requests: int = 0
    characters: int = 0
    billed_units: int = 0
    failed_requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class BatchOutcome:
    records: list[RecordOutcome]
    usage: dict[str, ApiUsage]
    fields_inspected: int = 0

    def results(self) -> Counter[str]:
        return Counter(r.result for r in self.records)

    def entities(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for record in self.records:
            total.update(record.entities)
        return total

    def failure_reasons(self) -> Counter[str]:
        return Counter(r.reason_kind for r in self.records if r.reason_kind)


@dataclass
class _Parsed:
    outcome_index: int
    source: str  # the record's base64 data as received
    document: Any
    slots: list[Slot]


class RecordError(ValueError):
    """A record that cannot be screened at all; the message names why, never what it holds."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def decode_record(data: str | None, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Base64 → bytes → UTF-8 → strict JSON object, each step failing with a reason for the log.

    Strict (pitwall_shared.inputs.read_json): a duplicate key at any depth, NaN / Infinity, a number
    out of range or not held exactly by a double, a lone surrogate, or nesting deeper than
    `max_depth` is refused, so the document is exactly what every reader of the bytes would see and
    can be written back whole. A leading byte-order mark is dropped (the canonical output has none).
    """
    if not isinstance(data, str):
        raise RecordError("no-data", "the record has no data string")
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError, TypeError):
        raise RecordError("bad-base64", "data is not valid base64") from None
    if len(raw) > FIREHOSE_MAX_RECORD_BYTES:
        raise RecordError("too-large", f"record is {len(raw)} bytes, over Firehose's {FIREHOSE_MAX_RECORD_BYTES}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RecordError("not-utf8", f"data is not UTF-8 (bad byte at offset {error.start})") from None
    try:
        document = read_json(text.removeprefix(BOM), what="record", max_depth=max_depth, exact_numbers=True)
    except BadInput as error:
        kind = error.kind.replace("_", "-")
        raise RecordError(kind if kind in REFUSED else "not-json", str(error)) from None
    if not isinstance(document, dict):
        name = "null" if document is None else type(document).__name__
        raise RecordError("not-object", f"data is a JSON {name}, not an object")
    return document


# A digit, an @, a URL, or a capitalised word inside a sentence (names, places): cheap signs that a
# value may hold PII. Only used to order values for packing, never to skip one.
_SENSITIVE_SIGNS = re.compile(r"[\d@]|https?:|www\.|(?<=[^.!?\s]\s)(?:[A-Z][a-z]|[A-Z]{2})")


def looks_sensitive(text: str) -> bool:
    """True when `text` shows a sign of possible PII.

    >>> looks_sensitive("Thanks, all good."), looks_sensitive("Thanks, Maria."), looks_sensitive("I'm 42")
    (False, True, True)
    """
    return _SENSITIVE_SIGNS.search(text) is not None


def _encode(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def _serialise(document: Any, newline: bool) -> bytes:
    """The canonical form of a (strictly parsed) document: what was inspected, and nothing else."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n" if newline else text).encode("utf-8")


def _account(usage: dict[str, ApiUsage], calls: Sequence[Call], results: Sequence[CallResult]) -> None:
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


def screen(records: Sequence[InputRecord], options: ScreeningOptions, service: PiiService) -> BatchOutcome:
    """Screen a batch; one outcome per input record, in order."""
    outcomes: list[RecordOutcome] = []
    parsed: list[_Parsed] = []
    for record in records:
        try:
            document = decode_record(record.data, options.max_depth)
        except RecordError as error:
            outcomes.append(_refused(record, error, options))
            continue
        outcomes.append(RecordOutcome(record.record_id, "Ok", ""))
        parsed.append(_Parsed(len(outcomes) - 1, record.data or "", document, select(document, options.paths)))

    # Every non-empty value becomes one piece, or several overlapping segments when too large.
    values: list[tuple[_Parsed, Slot]] = []
    pieces: list[Piece] = []
    for item in parsed:
        for slot in item.slots:
            if not slot.text:
                continue
            value_id = len(values)
            values.append((item, slot))
            for offset, text in segment(slot.text, options.max_request_bytes, options.segment_overlap_bytes):
                pieces.append(Piece(value_id, offset, text))

    usage: dict[str, ApiUsage] = {}
    failed_values: set[int] = set()
    spans_by_value: dict[int, list[Span]] = {}

    # Values that look as if they could hold PII are packed together, the rest together, so that a
    # clean value rarely shares a flagged Contains pack (and the Detect units that follow). Every
    # value is still sent; only the grouping changes, and results do not depend on it.
    sensitive: list[Piece] = []
    plain: list[Piece] = []
    for piece in pieces:
        (sensitive if looks_sensitive(piece.text) else plain).append(piece)
    contains_packs = [*pack(sensitive, options.contains_pack_chars, options.max_request_bytes),
                      *pack(plain, options.contains_pack_chars, options.max_request_bytes)]
    contains_calls = [Call("ContainsPiiEntities", p.text, options.language) for p in contains_packs]
    contains_results = service.run(contains_calls) if contains_calls else []
    _account(usage, contains_calls, contains_results)

    flagged: list[Piece] = []
    for pack_, result in zip(contains_packs, contains_results, strict=True):
        if not result.ok:
            failed_values.update(piece.value_id for piece, _ in pack_.pieces)
        elif result.labels:
            # Any label, whatever its type or score: Contains only decides what Detect looks at.
            flagged.extend(piece for piece, _ in pack_.pieces)

    detect_packs: list[Pack] = pack(flagged, options.detect_pack_chars, options.max_request_bytes)
    detect_calls = [Call("DetectPiiEntities", p.text, options.language) for p in detect_packs]
    detect_results = service.run(detect_calls) if detect_calls else []
    _account(usage, detect_calls, detect_results)

    for pack_, result in zip(detect_packs, detect_results, strict=True):
        if not result.ok:
            failed_values.update(piece.value_id for piece, _ in pack_.pieces)
            continue
        wanted = [s for s in result.spans or () if options.wants(s.type) and s.score >= options.min_score]
        for piece, span in unpack(pack_, wanted):
            spans_by_value.setdefault(piece.value_id, []).append(span)

    # Apply per record: masks where found, the failure policy where anything could not be inspected.
    failed_records = {id(values[v][0]) for v in failed_values}
    for value_id, (item, slot) in enumerate(values):
        if id(item) in failed_records:
            continue
        spans = merge(spans_by_value.get(value_id, ()))
        if spans:
            slot.write(redact(slot.text, spans, options.mask_style, options.mask_character))
            outcomes[item.outcome_index].entities.update(s.type for s in spans)

    for item in parsed:
        outcome = outcomes[item.outcome_index]
        if id(item) in failed_records:
            _fail_closed(outcome, item, options)
        else:
            # Every Ok record is written from its parsed document, changed or not: the output is
            # what was inspected, never the bytes that came in.
            outcome.data = _encode(_serialise(item.document, options.newline))
    return BatchOutcome(outcomes, usage, fields_inspected=len(values))


def _fail_closed(outcome: RecordOutcome, item: _Parsed, options: ScreeningOptions) -> None:
    outcome.reason, outcome.reason_kind = "fields could not be inspected", "uninspected"
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
        outcome.data = _encode(_serialise(item.document, options.newline))


def _refused(record: InputRecord, error: RecordError, options: ScreeningOptions) -> RecordOutcome:
    """The answer for a record that was not screened: it never reaches the redacted output."""
    if error.kind == "bad-base64" or error.kind == "no-data":
        # Firehose rejects a whole response whose `data` is not base64: a record that did not
        # decode goes back with its text encoded, so the error output still holds what came in.
        data = _encode((record.data or "").encode("utf-8", "replace"))
    else:
        data = record.data or ""
    result: Result = "Dropped" if error.kind in REFUSED and options.failure_policy == "drop" else "ProcessingFailed"
    return RecordOutcome(record.record_id, result, "" if result == "Dropped" else data, reason=str(error),
                         reason_kind=error.kind)
