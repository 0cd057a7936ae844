"""Uncertain PII for human review (issue 19 item 2, producer side): entities scoring in
PII_REVIEW_BAND are masked all the same, and their value goes to review as a candidate whose event
data holds no text; a candidate that cannot be saved fails its record closed per policy, beside a
control record that stays Ok."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from pii_redaction.logic.batch import ScreeningOptions
from pii_redaction.logic.fields import parse_field_paths
from pii_redaction.logic.planning import Span
from pii_redaction.logic.ports import Call, CallResult
from pii_redaction.logic.review import ReviewCandidate
from pii_redaction.logic.screening import screen
from tests.unit.pii.helpers import decode, records

# What the scripted Comprehend finds, with the score it gives.
ENTITIES = {"Ana Lima": ("NAME", 0.62), "ana@example.org": ("EMAIL", 0.999), "Oak Street 12": ("ADDRESS", 0.71),
            "555-0100": ("PHONE", 0.95)}


class ScriptedComprehend:
    """Finds the strings of ENTITIES wherever they occur, with their fixed scores."""

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        out = []
        for call in calls:
            spans = tuple(Span(kind, m.start(), m.end(), score) for text, (kind, score) in ENTITIES.items()
                          for m in re.finditer(re.escape(text), call.text))
            out.append(CallResult(labels={s.type: s.score for s in spans}) if call.api == "ContainsPiiEntities"
                       else CallResult(spans=spans))
        return out


@dataclass
class Sink:
    fail: bool = False
    submitted: list[ReviewCandidate] = field(default_factory=list)

    def submit(self, candidates: Sequence[ReviewCandidate]) -> list[bool]:
        self.submitted.extend(candidates)
        return [not self.fail] * len(candidates)


def _options(**changes) -> ScreeningOptions:
    base = {"paths": parse_field_paths("note, items[*].text"), "review_band": (0.5, 0.9)}
    return ScreeningOptions(**{**base, **changes})


DOC = {"id": 1, "note": "Ana Lima wrote from ana@example.org", "items": [{"text": "ship to Oak Street 12"},
                                                                         {"text": "call 555-0100"}]}
CONTROL = {"id": 2, "note": "nothing personal here", "items": []}


def test_entities_in_the_band_are_masked_and_their_values_go_to_review():
    sink = Sink()
    outcome = screen(records(DOC, CONTROL), _options(), ScriptedComprehend(), sink)
    out = decode(outcome.records[0].data)
    # Everything is masked, in the band or not (fail closed).
    assert out["note"] == "******** wrote from ***************"
    assert out["items"] == [{"text": "ship to *************"}, {"text": "call ********"}]
    assert decode(outcome.records[1].data) == CONTROL and outcome.review_candidates == 2
    by_field = {(c.field, c.ordinal): c for c in sink.submitted}
    assert set(by_field) == {("note", 0), ("items[*].text", 1)}
    note = by_field["note", 0]
    assert note.record_id == "r0" and note.text == DOC["note"]
    assert [(s.type, note.text[s.begin:s.end], s.score) for s in note.spans] == [("NAME", "Ana Lima", 0.62)]
    address = by_field["items[*].text", 1]
    assert [(s.type, address.text[s.begin:s.end]) for s in address.spans] == [("ADDRESS", "Oak Street 12")]


def test_the_event_holds_no_text_and_the_task_object_holds_it():
    sink = Sink()
    screen(records(DOC), _options(), ScriptedComprehend(), sink)
    for candidate in sink.submitted:
        data = candidate.event_data(bucket="raw-pii", detected_at="2026-12-04T21:00:00Z")
        assert set(data) == {"record_id", "field", "task_object", "spans", "detected_at"}
        blob = json.dumps(data)
        # No piece of the value: not the whole text, not any word of it, not any entity.
        for word in [candidate.text, *candidate.text.split(), *ENTITIES]:
            if word not in ("note", "items[*].text") and len(word) > 2:
                assert word not in blob, word
        assert data["task_object"] == f"s3://raw-pii/{candidate.key}" and candidate.key.startswith("pii-review/")
        task = candidate.task_object()
        assert task["text"] == candidate.text and task["field"] == candidate.field and task["record_id"] == "r0"
        assert task["spans"] == data["spans"]
        for span in data["spans"]:
            assert candidate.text[span["begin_offset"]:span["end_offset"]] in ENTITIES


def test_the_task_object_key_is_the_same_for_a_redelivered_record():
    first, second = Sink(), Sink()
    screen(records(DOC), _options(), ScriptedComprehend(), first)
    screen(records(DOC), _options(), ScriptedComprehend(), second)
    assert [c.key for c in first.submitted] == [c.key for c in second.submitted]
    assert len({c.key for c in first.submitted}) == len(first.submitted)


def test_no_review_when_the_band_is_off_or_nothing_is_in_it():
    sink = Sink()
    screen(records(DOC), _options(review_band=None), ScriptedComprehend(), sink)
    screen(records(DOC), _options(review_band=(0.3, 0.4)), ScriptedComprehend(), sink)
    assert sink.submitted == []


@pytest.mark.parametrize("policy,result", [("mask-all", "Ok"), ("drop", "Dropped"), ("fail", "ProcessingFailed")])
def test_a_candidate_that_cannot_be_saved_fails_its_record_closed(policy, result):
    outcome = screen(records(DOC, CONTROL), _options(failure_policy=policy), ScriptedComprehend(), Sink(fail=True))
    failed, control = outcome.records
    assert (failed.result, failed.reason_kind) == (result, "review-unsaved")
    assert control.result == "Ok" and decode(control.data) == CONTROL
    assert outcome.failure_reasons() == {"review-unsaved": 1}
    if policy == "mask-all":
        out = decode(failed.data)
        assert set(out["note"]) == {"*"} and out["_pii_redaction"] == "uninspected-fields-masked"
