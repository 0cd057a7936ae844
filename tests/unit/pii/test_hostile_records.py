"""Issue 12 items 1-3: nothing uninspected gets out. Every hostile record is screened in a batch
beside a control record (which must come out redacted as usual), under each failure policy; every
recordId is answered once; an Ok record's bytes are the canonical form of what was inspected."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from pii_redaction.logic.batch import DEFAULT_MAX_DEPTH, ScreeningOptions
from pii_redaction.logic.fields import parse_field_paths
from pii_redaction.logic.planning import Span
from pii_redaction.logic.ports import Call, CallResult
from pii_redaction.logic.screening import screen
from pii_redaction.models import InputRecord
from tests.unit.pii.helpers import InProcessComprehend, decode

OPTIONS = ScreeningOptions(paths=parse_field_paths("Tweet1, user.email"))
CONTROL = {"Tweet1": "Call me on 206-555-0143 tomorrow", "User": "12345"}
CONTROL_OUT = {"Tweet1": "Call me on ************ tomorrow", "User": "12345"}
SSN = "548-95-6370"
POLICIES = ("mask-all", "drop", "fail")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _batch(case: InputRecord, options: ScreeningOptions = OPTIONS):
    batch = [InputRecord("control-before", b64(json.dumps(CONTROL).encode())), case,
             InputRecord("control-after", b64(json.dumps(CONTROL).encode()))]
    outcome = screen(batch, options, InProcessComprehend())
    assert [r.record_id for r in outcome.records] == [r.record_id for r in batch]  # each answered once
    by_id = {r.record_id: r for r in outcome.records}
    for control in ("control-before", "control-after"):
        assert by_id[control].result == "Ok" and decode(by_id[control].data) == CONTROL_OUT
    return by_id[case.record_id], outcome


def _deep(levels: int, inner: str = f'"My SSN is {SSN}"') -> bytes:
    return ('{"Tweet1": ' + "[" * levels + inner + "]" * levels + "}").encode()


# Records the strict reader refuses: each would be misread by some reader, or cannot be written back.
REFUSED = {
    "duplicate-key": b'{"Tweet1": "My SSN is 548-95-6370", "Tweet1": "hello"}',
    "duplicate-key-escaped": b'{"Tweet1": "My SSN is 548-95-6370", "Tweet\\u0031": "hello"}',
    "duplicate-key-nested": b'{"user": {"email": "hi", "prefs": {"a": {"b": 1, "b": 2}}}, "Tweet1": "x"}',
    "duplicate-key-unconfigured": b'{"Other": "a", "Other": "b", "Tweet1": "My SSN is 548-95-6370"}',
    "nan": b'{"Tweet1": "My SSN is 548-95-6370", "n": NaN}',
    "infinity": b'{"Tweet1": "My SSN is 548-95-6370", "n": -Infinity}',
    "out-of-range": b'{"Tweet1": "My SSN is 548-95-6370", "n": 1e400}',
    "huge-integer": b'{"Tweet1": "My SSN is 548-95-6370", "n": ' + b"9" * 5_000 + b"}",
    "inexact": b'{"Tweet1": "My SSN is 548-95-6370", "n": 0.10000000000000000001}',
    "inexact-card": b'{"Tweet1": 5534816011668430.5}',
    "lone-surrogate": b'{"Tweet1": "My SSN is 548-95-6370 \\ud800"}',
    "lone-surrogate-key": b'{"Tweet1": "My SSN is 548-95-6370", "\\udfff": 1}',
    "too-deep": _deep(DEFAULT_MAX_DEPTH),
    "too-deep-5000": _deep(5_000),
    # About 600 KB: as deep as a record within Firehose's 1,000 KiB gets.
    "too-deep-300000": _deep(300_000),
}
KINDS = {"duplicate-key-escaped": "duplicate-key", "duplicate-key-nested": "duplicate-key",
         "duplicate-key-unconfigured": "duplicate-key", "nan": "not-a-number", "infinity": "not-a-number",
         "out-of-range": "number-out-of-range", "huge-integer": "number-out-of-range", "inexact": "inexact-number",
         "inexact-card": "inexact-number", "lone-surrogate-key": "lone-surrogate", "too-deep-5000": "too-deep",
         "too-deep-300000": "too-deep"}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_json_that_cannot_be_written_back_as_read_fails_closed_alone(name, policy):
    raw = REFUSED[name]
    record, outcome = _batch(InputRecord(name, b64(raw)), replace(OPTIONS, failure_policy=policy))
    assert record.reason_kind == KINDS.get(name, name)
    assert record.result == ("Dropped" if policy == "drop" else "ProcessingFailed")
    # Dropped answers carry nothing; a failed record goes to the error prefix as it came.
    assert record.data == ("" if policy == "drop" else b64(raw))
    assert SSN not in (record.reason or "") and "hello" not in (record.reason or "")
    assert outcome.failure_reasons()[record.reason_kind] == 1


def test_nesting_up_to_the_limit_is_inspected():
    # The top-level object is level 1, so 127 arrays inside it reach the limit of 128.
    record, _ = _batch(InputRecord("deep", b64(_deep(DEFAULT_MAX_DEPTH - 1))))
    assert record.result == "Ok"
    text = base64.b64decode(record.data).decode()
    assert SSN not in text and text == '{"Tweet1":' + "[" * 127 + '"My SSN is ***********"' + "]" * 127 + "}\n"


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("data", [None, "missing", 42, ["a"]], ids=["null", "missing", "number", "list"])
def test_a_record_without_a_data_string_fails_alone(data, policy):
    # The handler turns anything but a string (or no `data` at all) into None.
    record, _ = _batch(InputRecord("no-data", data if isinstance(data, str) and data != "missing" else None),
                       replace(OPTIONS, failure_policy=policy))
    assert (record.result, record.reason_kind) == ("ProcessingFailed", "no-data")
    assert base64.b64decode(record.data, validate=True) == b""


def test_a_byte_order_mark_is_dropped_and_the_record_inspected():
    raw = "\ufeff".encode() + json.dumps({"Tweet1": f"My SSN is {SSN}"}).encode()
    record, _ = _batch(InputRecord("bom", b64(raw)))
    assert record.result == "Ok"
    assert base64.b64decode(record.data) == b'{"Tweet1":"My SSN is ***********"}\n'


def test_an_ok_record_is_written_from_what_was_parsed_not_from_its_bytes():
    # Odd but valid: whitespace, escaped letters (the SSN's dashes too), "\/", a big exact integer,
    # and a field with no PII at all: still re-serialised, never passed through.
    raw = (b'{ "Tweet1" : "My SSN is 548\\u002d95\\u002d6370" ,\n "note": "a\\/b \\u00e9 \\ud83d\\ude00",'
           b' "id": 123456789012345678901234567890, "x": 1E5, "user": {"email": "fine"} }')
    clean = b'{"Tweet1":"all good","n":   1.50}'
    record, _ = _batch(InputRecord("odd", b64(raw)))
    assert base64.b64decode(record.data).decode() == (
        '{"Tweet1":"My SSN is ***********","note":"a/b é 😀","id":123456789012345678901234567890,'
        '"x":100000.0,"user":{"email":"fine"}}\n')
    untouched, _ = _batch(InputRecord("clean", b64(clean)))
    assert base64.b64decode(untouched.data) == b'{"Tweet1":"all good","n":1.5}\n'


class Scripted:
    """A PiiService that finds one low-scored SSN in any text holding it (Contains label score 0.1,
    Detect entity score 0.2): what Comprehend may answer for PII it is unsure of."""

    def run(self, calls: list[Call]) -> list[CallResult]:
        results = []
        for call in calls:
            at = call.text.find(SSN)
            if call.api == "ContainsPiiEntities":
                results.append(CallResult(labels={"SSN": 0.1} if at >= 0 else {}))
            else:
                results.append(CallResult(spans=(Span("SSN", at, at + len(SSN), 0.2),) if at >= 0 else ()))
        return results


def test_every_entity_is_masked_by_default_and_a_threshold_trades_recall_away():
    docs = [{"Tweet1": f"maybe {SSN}"}, {"Tweet1": "nothing here"}]
    batch = [InputRecord(f"r{i}", b64(json.dumps(d).encode())) for i, d in enumerate(docs)]
    default = screen(batch, OPTIONS, Scripted()).records
    assert [decode(r.data)["Tweet1"] for r in default] == ["maybe ***********", "nothing here"]
    # A deployer who raises the threshold accepts that low-scored PII stays in the clear.
    raised = screen(batch, replace(OPTIONS, min_score=0.5), Scripted()).records
    assert [decode(r.data)["Tweet1"] for r in raised] == [f"maybe {SSN}", "nothing here"]


def test_any_contains_label_sends_the_value_to_detect():
    # A label of a type the deployer does not redact still sends the value to Detect (which may find
    # a type it does): Contains only narrows what Detect reads.
    class LabelOnly(Scripted):
        def run(self, calls: list[Call]) -> list[CallResult]:
            return [CallResult(labels={"NAME": 0.01}) if c.api == "ContainsPiiEntities" else r
                    for c, r in zip(calls, super().run(calls), strict=True)]

    service = LabelOnly()
    options = replace(OPTIONS, entity_types=frozenset({"SSN"}))
    [record] = screen([InputRecord("r", b64(json.dumps({"Tweet1": f"id {SSN}"}).encode()))], options, service).records
    assert decode(record.data)["Tweet1"] == "id ***********"
