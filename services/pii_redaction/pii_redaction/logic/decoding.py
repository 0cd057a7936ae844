"""The two ends of a record: its `data` decoded into a strict JSON document (or refused, with a
reason kind for the log and the report), and a document written back canonically.

The rule (README, "What reaches the redacted bucket"): an Ok record's bytes are the canonical JSON of
the document that was inspected. So a record is only read when its parse is lossless; what another
JSON reader could see differently (a duplicate key, say) is refused per the failure policy.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pii_redaction.logic.batch import DEFAULT_MAX_DEPTH, FIREHOSE_MAX_RECORD_BYTES, ScreeningOptions
from pii_redaction.models import InputRecord, RecordOutcome, Result
from pitwall_shared.inputs import BadInput, read_json

BOM = "\ufeff"
# Records that cannot be read as a JSON object at all: ProcessingFailed whatever the policy.
UNREADABLE = frozenset({"no-data", "bad-base64", "too-large", "not-utf8", "not-json", "not-object"})
# JSON that could be read but not written back as exactly what was read (and so inspected): refused
# per PII_FAILURE_POLICY (`drop`: Dropped; `fail` and `mask-all`: ProcessingFailed, since there is no
# faithful document to mask).
REFUSED = frozenset({"duplicate-key", "not-a-number", "number-out-of-range", "inexact-number",
                     "lone-surrogate", "too-deep"})


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


def refused(record: InputRecord, error: RecordError, options: ScreeningOptions) -> RecordOutcome:
    """The answer for a record that was not screened: it never reaches the redacted output."""
    if error.kind in ("bad-base64", "no-data"):
        # Firehose rejects a whole response whose `data` is not base64: a record that did not
        # decode goes back with its text encoded, so the error output still holds what came in.
        data = b64encode((record.data or "").encode("utf-8", "replace"))
    else:
        data = record.data or ""
    result: Result = "Dropped" if error.kind in REFUSED and options.failure_policy == "drop" else "ProcessingFailed"
    return RecordOutcome(record.record_id, result, "" if result == "Dropped" else data, reason=str(error),
                         reason_kind=error.kind)


def b64encode(payload: bytes) -> str:
    return base64.b64encode(payload).decode("ascii")


def serialise(document: Any, newline: bool) -> bytes:
    """The canonical form of a (strictly parsed) document: what was inspected, and nothing else."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text + "\n" if newline else text).encode("utf-8")
