"""Screening a batch: the golden record, packing equivalence, per-record failures, fail-closed policies."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from pii_redaction.logic.batch import FIREHOSE_MAX_RECORD_BYTES, ScreeningOptions
from pii_redaction.logic.fields import parse_field_paths
from pii_redaction.logic.screening import screen
from pii_redaction.logic.stages import MARKER_KEY
from pii_redaction.models import InputRecord
from tests.unit.pii.helpers import GOLDEN, InProcessComprehend, decode, encode, records

GOLDEN_OPTIONS = ScreeningOptions(paths=parse_field_paths(GOLDEN["fields"]))


def test_golden_record_matches_comprehends_published_result():
    outcome = screen(records(GOLDEN["record"]), GOLDEN_OPTIONS, InProcessComprehend())
    [record] = outcome.records
    assert record.result == "Ok"
    assert decode(record.data) == GOLDEN["expected"]
    assert base64.b64decode(record.data).endswith(b"\n")
    assert record.entities["ADDRESS"] == 1 and record.entities["NAME"] == 1 and sum(record.entities.values()) == 11


def test_golden_record_values_are_packed_into_one_detect_request():
    service = InProcessComprehend()
    outcome = screen(records(GOLDEN["record"]), GOLDEN_OPTIONS, service)
    # Together the two tweets exceed the 600-character Contains pack, not the Detect pack.
    assert [c.api for c in service.calls] == ["ContainsPiiEntities"] * 2 + ["DetectPiiEntities"]
    assert outcome.usage["DetectPiiEntities"].characters == len(GOLDEN["record"]["Tweet1"]) + 2 + len(
        GOLDEN["record"]["Tweet2"])


def _texts(n: int) -> list[dict]:
    samples = [
        "Thanks, all good with the delivery.",
        "Call me on 206-555-0143 tomorrow after 5",
        "Reach Maria Gonzalez at maria.gonzalez@example.com please",
        "nothing to report",
        "card 4111 1111 1111 1111 was declined",
        "Ship to 12 Baker Street, Springfield, IL 62704",
        "My IP is 10.0.12.7 and it keeps failing",
        "",
        "Le café était très bon 😀 écrivez à zoë@example.fr",
    ]
    return [{"id": i, "comment": samples[i % len(samples)], "note": samples[(i * 5 + 3) % len(samples)],
             "amount": i * 3} for i in range(n)]


@pytest.mark.parametrize("pack_chars", [1, 300, 5_000])
def test_packing_gives_the_same_output_as_one_request_per_value(pack_chars):
    docs = _texts(30)
    options = ScreeningOptions(paths=parse_field_paths("comment, note"), contains_pack_chars=pack_chars,
                               detect_pack_chars=pack_chars)
    # One request per value: packs no bigger than one value.
    alone = screen(records(*docs), replace(options, contains_pack_chars=1, detect_pack_chars=1),
                   InProcessComprehend())
    packed_service = InProcessComprehend()
    packed = screen(records(*docs), options, packed_service)
    assert [r.data for r in packed.records] == [r.data for r in alone.records]
    assert any("*" in decode(r.data)["comment"] for r in packed.records)
    if pack_chars > 1:
        assert len(packed_service.calls) < 30


def test_empty_values_are_never_sent():
    service = InProcessComprehend()
    outcome = screen(records({"comment": "", "note": ""}), ScreeningOptions(paths=parse_field_paths("comment,note")),
                     service)
    assert service.calls == [] and outcome.records[0].result == "Ok"


def test_each_bad_record_fails_alone():
    good = {"comment": "mail bob@example.com"}
    batch = [
        InputRecord("bad-base64", "!!!not base64!!!"),
        InputRecord("not-utf8", base64.b64encode(b'{"comment": "\xff\xfe"}').decode()),
        InputRecord("not-json", encode(b"comment=bob@example.com")),
        InputRecord("not-object", encode([1, 2])),
        InputRecord("too-large", encode(b'{"comment": "' + b"a" * FIREHOSE_MAX_RECORD_BYTES + b'"}')),
        InputRecord("good", encode(good)),
    ]
    outcome = screen(batch, ScreeningOptions(paths=parse_field_paths("comment")), InProcessComprehend())
    by_id = {r.record_id: r for r in outcome.records}
    for name in ("bad-base64", "not-utf8", "not-json", "not-object", "too-large"):
        assert by_id[name].result == "ProcessingFailed", name
        assert by_id[name].reason_kind == name
        assert "bob" not in by_id[name].reason and "\\x" not in by_id[name].reason
    assert decode(by_id["good"].data) == {"comment": "mail ***************"}
    assert outcome.failure_reasons()["not-json"] == 1
    # every answer carries valid base64 (Firehose rejects the whole response otherwise)
    assert base64.b64decode(by_id["bad-base64"].data, validate=True) == b"!!!not base64!!!"


@pytest.mark.parametrize("policy", ["mask-all", "drop", "fail"])
def test_fails_closed_when_comprehend_fails(policy):
    docs = [{"comment": "mail bob@example.com", "note": "fine", "user": "u1"},
            {"comment": "no pii here at all", "note": "none", "user": "u2"}]
    options = ScreeningOptions(paths=parse_field_paths("comment, note"), failure_policy=policy)
    outcome = screen(records(*docs), options, InProcessComprehend(fail=lambda call: "ThrottlingException"))
    for record, doc in zip(outcome.records, docs, strict=True):
        if policy == "mask-all":
            out = decode(record.data)
            assert record.result == "Ok" and out[MARKER_KEY]
            assert set(out["comment"]) == {"*"} and len(out["comment"]) == len(doc["comment"])
            assert out["user"] == doc["user"]
        elif policy == "drop":
            assert record.result == "Dropped" and record.data == ""
        else:
            assert record.result == "ProcessingFailed"
        assert "bob@example.com" not in base64.b64decode(record.data).decode()  or policy == "fail"


def test_a_failed_detect_call_fails_only_the_records_in_that_request():
    docs = [{"comment": "mail bob@example.com"}, {"comment": "call 206-555-0143"}]
    options = ScreeningOptions(paths=parse_field_paths("comment"), contains_pack_chars=1, detect_pack_chars=1)
    service = InProcessComprehend(fail=lambda call: "InternalServerException"
                                  if call.api == "DetectPiiEntities" and "bob" in call.text else None)
    first, second = screen(records(*docs), options, service).records
    assert first.masked_uninspected and not second.masked_uninspected
    assert decode(second.data)["comment"] == "call ************"


def test_numbers_are_inspected_in_text_form():
    doc = {"card": 4111111111111111, "qty": 3}
    outcome = screen(records(doc), ScreeningOptions(paths=parse_field_paths("*")), InProcessComprehend())
    assert decode(outcome.records[0].data) == {"card": "*" * 16, "qty": 3}


def test_nested_paths_and_type_masks():
    doc = {"user": {"contact": {"email": "ann@example.org"}},
           "orders": [{"note": "call 206-555-0143"}, {"note": "ok"}]}
    options = ScreeningOptions(paths=parse_field_paths(" user.contact , orders[*].note "), mask_style="type")
    out = decode(screen(records(doc), options, InProcessComprehend()).records[0].data)
    assert out == {"user": {"contact": {"email": "[EMAIL]"}}, "orders": [{"note": "call [PHONE]"}, {"note": "ok"}]}


def test_entity_type_filter_and_no_newline():
    doc = {"c": "mail bob@example.com or call 206-555-0143"}
    options = ScreeningOptions(paths=parse_field_paths("c"), entity_types=frozenset({"PHONE"}), newline=False)
    record = screen(records(doc), options, InProcessComprehend()).records[0]
    assert base64.b64decode(record.data) == json.dumps({"c": "mail bob@example.com or call ************"},
                                                       separators=(",", ":")).encode()


def test_emoji_and_accents_redact_the_right_code_points():
    doc = {"c": "😀😀 café: écrivez à zoë@example.fr 👍"}
    out = decode(screen(records(doc), ScreeningOptions(paths=parse_field_paths("c")),
                        InProcessComprehend()).records[0].data)
    assert out["c"] == "😀😀 café: écrivez à " + "*" * len("zoë@example.fr") + " 👍"


def test_same_input_gives_the_same_output():
    batch = records(*_texts(12))
    options = ScreeningOptions(paths=parse_field_paths("comment, note"))
    first = screen(batch, options, InProcessComprehend())
    second = screen(batch, options, InProcessComprehend())
    assert [r.data for r in first.records] == [r.data for r in second.records]


def test_a_large_value_is_segmented_and_fully_inspected():
    filler = "lorem ipsum dolor sit amet é 😀 " * 200
    emails = [f"user{i}@example.com" for i in range(8)]
    text = filler.join(f" {e} " for e in emails) + filler
    options = ScreeningOptions(paths=parse_field_paths("c"), max_request_bytes=5_000, segment_overlap_bytes=400)
    service = InProcessComprehend()
    out = decode(screen(records({"c": text}), options, service).records[0].data)["c"]
    assert all(e not in out for e in emails) and len(out) == len(text)
    assert all(len(c.text.encode()) <= 5_000 for c in service.calls)
    assert out.count("*") == sum(len(e) for e in emails)


def test_values_that_look_sensitive_are_packed_apart_from_clean_ones():
    clean = [{"comment": f"all good with order number {'abcdefghij'[i % 10]}, thanks a lot"} for i in range(20)]
    docs = clean[:10] + [{"comment": "please mail bob@example.com"}] + clean[10:]
    service = InProcessComprehend()
    outcome = screen(records(*docs), ScreeningOptions(paths=parse_field_paths("comment")), service)
    detect = [c.text for c in service.calls if c.api == "DetectPiiEntities"]
    # Every value went through Contains; only the sensitive-looking one reached Detect.
    assert sum(c.text.count("thanks a lot") for c in service.calls if c.api == "ContainsPiiEntities") == 20
    assert detect == ["please mail bob@example.com"]
    assert decode(outcome.records[10].data)["comment"] == "please mail " + "*" * 15
