"""The Presidio analyzer behind the emulator, and the map from Presidio's entity types to Comprehend's.

Presidio's predefined recognizers (patterns, checksums, context words, libphonenumber, spaCy NER)
do the types Presidio has; the recognizers in `recognizers.py` and `ner.py` add what it lacks. A
result counts from `MIN_SCORE` on: Presidio's weak patterns (a bare 9-digit number as an SSN, 0.05)
reach it only with a context word (+0.35), which is how Presidio itself separates a guess from a
finding. Overlaps are resolved later by `PRIORITY` (which recognizer), then score, then length.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import tldextract
from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    AbaRoutingRecognizer,
    CreditCardRecognizer,
    DateRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    InAadhaarRecognizer,
    InPanRecognizer,
    InVoterRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    NhsRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UkNinoRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsItinRecognizer,
    UsLicenseRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)
from presidio_analyzer.predefined_recognizers.country_specific.canada.ca_sin_recognizer import CaSinRecognizer

from local.emulators.pii_detect.ner import (
    CountryRecognizer,
    IntroducedNameRecognizer,
    LocalSpacyNlpEngine,
    StreetAddressRecognizer,
    is_field_label,
)
from local.emulators.pii_detect.recognizers import (
    ContextRuleRecognizer,
    Finding,
    FormRecognizer,
    card_prefix_valid,
)

# Presidio entity type -> Comprehend PiiEntity.Type (DetectPiiEntities API reference). The custom
# recognizers already name Comprehend types, which map to themselves.
PRESIDIO_TO_COMPREHEND = {
    "CREDIT_CARD": "CREDIT_DEBIT_NUMBER",
    "EMAIL_ADDRESS": "EMAIL",
    "IP_ADDRESS": "IP_ADDRESS",
    "MAC_ADDRESS": "MAC_ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "SSN",
    "URL": "URL",
    "DATE_TIME": "DATE_TIME",
    "IBAN_CODE": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "US_BANK_NUMBER": "BANK_ACCOUNT_NUMBER",
    "ABA_ROUTING_NUMBER": "BANK_ROUTING",
    "US_PASSPORT": "PASSPORT_NUMBER",
    "US_DRIVER_LICENSE": "DRIVER_ID",
    "US_ITIN": "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "UK_NHS": "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "UK_NINO": "UK_NATIONAL_INSURANCE_NUMBER",
    "IN_PAN": "IN_PERMANENT_ACCOUNT_NUMBER",
    "IN_AADHAAR": "IN_AADHAAR",
    "IN_VOTER": "IN_VOTER_NUMBER",
    "CA_SIN": "CA_SOCIAL_INSURANCE_NUMBER",
    "PERSON": "NAME",
    "LOCATION": "ADDRESS",
}

# Which recognizer wins an overlap: checksummed forms (5) > street addresses, phones, URLs (4) >
# context-confirmed values (3) > dates and introduced names (2) > the NER model (1).
PRIORITY = {
    "CreditCardRecognizer": 5, "EmailRecognizer": 5, "IpRecognizer": 5, "IbanRecognizer": 5,
    "MacAddressRecognizer": 5, "UsSsnRecognizer": 5, "FormRecognizer": 5, "OfflineEmailRecognizer": 5,
    "StreetAddressRecognizer": 4, "PhoneRecognizer": 4, "CheckedUrlRecognizer": 4, "TimestampRecognizer": 4,
    "ContextRuleRecognizer": 3, "AbaRoutingRecognizer": 3, "UsBankRecognizer": 3, "UsPassportRecognizer": 3,
    "UsLicenseRecognizer": 3, "UsItinRecognizer": 3, "UkNinoRecognizer": 3, "InPanRecognizer": 3,
    "InVoterRecognizer": 3, "CaSinRecognizer": 3,
    # A 10-digit phone number passes the NHS mod-11 check one time in eleven.
    "NhsRecognizer": 3,
    # A bare 12-digit number passes Aadhaar's Verhoeff check one time in ten: below context-confirmed.
    "DateRecognizer": 2, "IntroducedNameRecognizer": 2, "InAadhaarRecognizer": 2, "CountryRecognizer": 2,
    "SpacyRecognizer": 1,
}
# Presidio's weak patterns start at 0.01-0.05 and its context enhancer lifts a match with a context
# word to at least 0.4 (LemmaContextAwareEnhancer defaults); its phone recognizer scores 0.4.
MIN_SCORE = 0.4


# tldextract's public suffix list as shipped inside the package: its default fetches the list from the
# network on first use (and logs a failure here, where there is none).
_OFFLINE_SUFFIXES = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, its domain checked against the bundled public suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_SUFFIXES(pattern_text).fqdn != ""


class CheckedUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer; a URL written without a scheme or "www." must be lower case and end
    in a public suffix, or company names ("TOP CULTURE Co.Ltd.") would be URLs."""

    def invalidate_result(self, pattern_text: str) -> bool:
        text = pattern_text.strip("\"'")
        if text.lower().startswith(("http://", "https://", "www.")):
            return False
        return text != text.lower() or not _OFFLINE_SUFFIXES(text).suffix


class AllCardsRecognizer(CreditCardRecognizer):
    """Presidio's card recognizer (Luhn checksum) over every ISO/IEC 7812 length, 12 to 19 digits,
    with a card network's issuer prefix: its own pattern misses Mastercard's 2-series and 12-digit
    Maestro numbers."""

    PATTERNS = [Pattern("Card number (weak)", r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])", 0.3)]

    def __init__(self) -> None:
        super().__init__(patterns=self.PATTERNS, name="CreditCardRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        digits = re.sub(r"\D", "", pattern_text)
        return bool(super().validate_result(pattern_text)) and card_prefix_valid(digits)


class GuardedPhoneRecognizer(PhoneRecognizer):
    """Presidio's libphonenumber recognizer, skipped for text with fewer than 7 digits (no number fits:
    the matcher is the slowest recognizer) and without the "CA" pass, which finds what the "US" pass
    finds (one numbering plan, country code 1)."""

    def __init__(self) -> None:
        super().__init__(supported_regions=tuple(r for r in PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS if r != "CA"),
                         name="PhoneRecognizer")

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        if len(_DIGIT.findall(text)) < 7:
            return []
        return list(super().analyze(text, entities, nlp_artifacts))


_DIGIT = re.compile(r"\d")


# Dates Presidio's date patterns miss that Comprehend reports as DATE_TIME: timestamps with a time of
# day (their own recognizer), weekdays, and a year after a preposition ("founded in 1991").
# A timestamp with a time of day ("2010-12-22 00:59:42.031649") outranks the phone numbers libphonenumber
# reads inside it ("42.031649").
_TIMESTAMP = [
    Pattern("Timestamp", r"\b\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])[T ][0-2]\d:[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
            r"(?:Z|[+-][0-2]\d:?[0-5]\d)?(?!\w)", 0.85),
]
_DATE_PATTERNS = [
    Pattern("Weekday", r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b", 0.6),
    Pattern("Year after a preposition", r"(?<=\b(?:[Ii]n|[Dd]uring|[Ss]ince|of|[Ff]rom|until|by) )(?:1[89]|20)\d\d\b", 0.6),
]


@functools.cache
def analyzer(use_model: bool) -> AnalyzerEngine:
    """The analyzer, built once per process (about 2 s with the model, most of it loading spaCy)."""
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        AllCardsRecognizer(), OfflineEmailRecognizer(), IpRecognizer(), IbanRecognizer(), MacAddressRecognizer(),
        UsSsnRecognizer(), GuardedPhoneRecognizer(), CheckedUrlRecognizer(),
        DateRecognizer(patterns=DateRecognizer.PATTERNS + _DATE_PATTERNS),
        PatternRecognizer(supported_entity="DATE_TIME", patterns=_TIMESTAMP, name="TimestampRecognizer"), AbaRoutingRecognizer(),
        UsBankRecognizer(), UsPassportRecognizer(), UsLicenseRecognizer(), UsItinRecognizer(), NhsRecognizer(),
        UkNinoRecognizer(), InPanRecognizer(), InAadhaarRecognizer(), InVoterRecognizer(), CaSinRecognizer(),
        ContextRuleRecognizer(), FormRecognizer(), StreetAddressRecognizer(), IntroducedNameRecognizer(),
        CountryRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    if use_model:
        registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON", "LOCATION"]))
    _OFFLINE_SUFFIXES("warm-up.example.org")  # builds its suffix trie (about 1 s) now, not in a request
    return AnalyzerEngine(registry=registry, nlp_engine=LocalSpacyNlpEngine(use_model=use_model),
                          supported_languages=["en"], default_score_threshold=MIN_SCORE)


def findings(results: list[RecognizerResult], text: str) -> list[Finding]:
    """Presidio results as Comprehend-typed findings (types Comprehend lacks are dropped)."""
    found = []
    for r in results:
        kind = PRESIDIO_TO_COMPREHEND.get(r.entity_type, r.entity_type)
        meta: dict[str, Any] = r.recognition_metadata or {}
        name = meta.get(RecognizerResult.RECOGNIZER_NAME_KEY, "")
        begin, end = r.start, r.end
        if name == "SpacyRecognizer" and kind == "NAME":
            value = text[begin:end]
            if value.endswith(("'s", "’s")):
                end -= 2
            if is_field_label(value) or not any(c.isupper() for c in value):
                continue
        found.append(Finding(kind, begin, end, round(min(r.score, 0.9999), 4), PRIORITY.get(name, 2)))
    return found

