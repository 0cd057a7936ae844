"""Packing is safe where the service may read across the blank line between packed values (issue 12
item 6): an entity that crosses a pack boundary or joins two values never unmasks either of them —
the values it touches are screened again, alone, and keep what the packed answer masked.

Two services: a scripted one (deterministic, whatever the emulator's detector becomes), and the
Comprehend emulator in its non-isolating mode (`isolate_paragraphs=False`: a request is read as one
paragraph, so context and entities cross the separator)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import replace

import pytest

from local.emulators.comprehend import ComprehendEmulator, Faults, joined_paragraphs
from pii_redaction.logic.batch import ScreeningOptions
from pii_redaction.logic.fields import parse_field_paths
from pii_redaction.logic.planning import SEPARATOR, Span, separator_after
from pii_redaction.logic.ports import Call, CallResult
from pii_redaction.logic.screening import screen
from tests.unit.pii.helpers import _DETECTOR, decode, records

OPTIONS = ScreeningOptions(paths=parse_field_paths("a, b"))
ALONE = replace(OPTIONS, contains_pack_chars=1, detect_pack_chars=1)  # one request per value


def masked(text: str) -> set[int]:
    return {i for i, ch in enumerate(text) if ch == "*"}


class Scripted:
    """Alone, "Lopez" is a NAME and "Maria" nothing. Packed, the service reads "Maria" + separator +
    "Lo" as one NAME (crossing the boundary) and, as a contextual model may, no longer finds
    "Lopez": clipping alone would leave "pez" in the clear."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        self.calls.extend(calls)
        out = []
        for call in calls:
            spans: list[Span] = []
            joined = re.search(re.escape("Maria" + separator_after("Maria") + "Lo"), call.text)
            if joined:
                spans.append(Span("NAME", joined.start(), joined.end(), 0.8))
            else:
                spans += [Span("NAME", m.start(), m.end(), 0.9) for m in re.finditer("Lopez", call.text)]
            # Contains flags every request: both values reach Detect, packed together.
            out.append(CallResult(labels={"NAME": 0.5}) if call.api == "ContainsPiiEntities"
                       else CallResult(spans=tuple(spans)))
        return out


def test_an_entity_across_the_boundary_never_unmasks_either_value():
    doc = {"a": "Ask for Maria", "b": "Lopez at the desk"}
    service = Scripted()
    out = decode(screen(records(doc), OPTIONS, service).records[0].data)
    alone = decode(screen(records(doc), ALONE, Scripted()).records[0].data)
    assert alone == {"a": "Ask for Maria", "b": "***** at the desk"}
    # What the crossing entity covered stays masked (never less than alone), and "Lopez", which the
    # packed answer lost, is masked because "b" was screened again alone.
    assert out == {"a": "Ask for *****", "b": "***** at the desk"}
    detects = [c.text for c in service.calls if c.api == "DetectPiiEntities"]
    assert detects == ["Ask for Maria .\n\nLopez at the desk", "Ask for Maria", "Lopez at the desk"]


def test_no_crossing_no_second_request():
    doc = {"a": "Ask for Ana", "b": "Lopez at the desk"}
    service = Scripted()
    screen(records(doc), OPTIONS, service)
    assert [c.text for c in service.calls if c.api == "DetectPiiEntities"] == ["Ask for Ana .\n\nLopez at the desk"]


class NonIsolating:
    """The Comprehend emulator (its wire-protocol handlers, without HTTP) with isolate_paragraphs off."""

    def __init__(self) -> None:
        self.emulator = ComprehendEmulator(Faults(isolate_paragraphs=False), _DETECTOR)
        self.detect_texts: list[str] = []

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        out = []
        for call in calls:
            body = {"Text": call.text, "LanguageCode": call.language}
            if call.api == "ContainsPiiEntities":
                labels = self.emulator.contains_pii_entities(body)["Labels"]
                out.append(CallResult(labels={label["Name"]: label["Score"] for label in labels}))
            else:
                self.detect_texts.append(call.text)
                entities = self.emulator.detect_pii_entities(body)["Entities"]
                out.append(CallResult(spans=tuple(Span(e["Type"], e["BeginOffset"], e["EndOffset"], e["Score"])
                                                  for e in entities)))
        return out


def test_the_emulator_mode_reads_across_blank_lines():
    text = "Name: John" + SEPARATOR + "Smith"
    assert joined_paragraphs(text) == "Name: John\n Smith" and len(joined_paragraphs(text)) == len(text)
    isolating = ComprehendEmulator(Faults(), _DETECTOR)
    joining = ComprehendEmulator(Faults(isolate_paragraphs=False), _DETECTOR)
    changed = [first for first, second in itertools.product(FIRST, SECOND)
               if isolating.detect_pii_entities({"Text": first + SEPARATOR + second, "LanguageCode": "en"})
               != joining.detect_pii_entities({"Text": first + SEPARATOR + second, "LanguageCode": "en"})]
    assert changed, "the mode should change what is found for some packed fragments"


# Fragments without closing punctuation: read as one paragraph they join (names run on into the next
# value, street numbers into the next value's street) far more than sentences do.
FIRST = ["Ask for Maria", "Name: John", "I live at 2657", "from Van Bokhorst", "Ana Lima,", "Koontz Lane",
         "Ticket 12", "reach me on 818"]
SECOND = ["Lopez at the desk", "Koontz Lane, Los Angeles, CA", "Serdar will call", "Street, Springfield",
          "Los Angeles, CA 90001", "1166 8430 expires soon", "Smith"]


@pytest.mark.parametrize("first", FIRST)
def test_with_the_non_isolating_emulator_packing_never_unmasks(first):
    # Read as one paragraph, a fragment's context runs on into the next value: a name or a street
    # number joins the next value's words, or a neighbour's words hide an entity. Closed with " ."
    # (and re-screened alone when an entity still crosses), no packed value masks less than alone.
    for second in SECOND:
        doc = {"a": first, "b": second}
        out = decode(screen(records(doc), OPTIONS, NonIsolating()).records[0].data)
        alone = decode(screen(records(doc), ALONE, NonIsolating()).records[0].data)
        for name in doc:
            assert masked(alone[name]) <= masked(out[name]), (doc, out, alone)


def test_packing_never_masks_less_when_paragraphs_are_isolated():
    # The default emulator: every pair screened packed masks at least what one request per value
    # masks (the closing " ." may let the reader see a fragment as a sentence: more, never less).
    from tests.unit.pii.helpers import InProcessComprehend

    for first, second in itertools.product(FIRST, SECOND):
        doc = {"a": first, "b": second}
        packed = decode(screen(records(doc), OPTIONS, InProcessComprehend()).records[0].data)
        alone = decode(screen(records(doc), ALONE, InProcessComprehend()).records[0].data)
        assert all(masked(alone[name]) <= masked(packed[name]) for name in doc), doc
