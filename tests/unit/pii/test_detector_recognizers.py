"""The Presidio-based detector of the Comprehend emulator: Comprehend types only, offline, and the
recognizers added where Presidio lacks a type or a shape."""

from __future__ import annotations

import socket

import pytest

from local.emulators.pii_detect import ENTITY_TYPES, PiiDetector
from local.emulators.pii_detect.analyzer import PRESIDIO_TO_COMPREHEND
from tests.unit.pii.helpers import _DETECTOR


def _found(text: str, detector: PiiDetector = _DETECTOR) -> list[tuple[str, str]]:
    return [(e.type, text[e.begin:e.end]) for e in detector.detect(text)]


def test_every_mapped_presidio_type_is_a_comprehend_type():
    assert set(PRESIDIO_TO_COMPREHEND.values()) <= set(ENTITY_TYPES)


def test_detection_never_reaches_the_network(monkeypatch):
    # tldextract (Presidio's email check) fetches the public suffix list unless told not to.
    def refuse(*args, **kwargs):
        raise AssertionError("network access during detection")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    detector = PiiDetector(use_model=False)
    assert _found("Mail ana@example.org or see https://example.org/a", detector) == [
        ("EMAIL", "ana@example.org"), ("URL", "https://example.org/a")]


@pytest.mark.parametrize("text,expected", [
    # usaddress: a US street address, city, state, ZIP; a sentence's dot is not the address's
    ("Ship it to 12 Baker Street, Springfield, IL 62704 please.", [("ADDRESS", "12 Baker Street, Springfield, IL 62704")]),
    # name-first streets, a unit, a country with its postcode
    ("The bus station is on Via Pasquale Scura 127", [("ADDRESS", "Via Pasquale Scura 127")]),
    ("Send it to Apt. 559, Brazil 35172", [("ADDRESS", "Apt. 559, Brazil 35172")]),
    ("My zip code is 97400", [("ADDRESS", "97400")]),
    # Mastercard 2-series (Presidio's own card pattern misses it), Luhn-valid
    ("Charge 2223000048400011 today", [("CREDIT_DEBIT_NUMBER", "2223000048400011")]),
    # a national number after a phone word; a timestamp is not a phone number
    ("Can someone call me on 60 124 37 75?", [("PHONE", "60 124 37 75")]),
    ("Date: 2018-05-08 09:44:07.683094", [("DATE_TIME", "2018-05-08 09:44:07.683094")]),
    ("My brother just turned 29", [("AGE", "29")]),
    # company names are no URLs
    ("the TOP CULTURE Co.Ltd. website", []),
])
def test_recognizers_added_to_presidio(text, expected):
    assert _found(text, PiiDetector(use_model=False)) == expected
