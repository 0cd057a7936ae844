"""Presidio recognizers for the Comprehend PII types Presidio has no recognizer for.

Presidio's own recognizers cover EMAIL, CREDIT_DEBIT_NUMBER, IP_ADDRESS, MAC_ADDRESS, SSN, PHONE, URL,
DATE_TIME, INTERNATIONAL_BANK_ACCOUNT_NUMBER, BANK_ACCOUNT_NUMBER, BANK_ROUTING, PASSPORT_NUMBER,
DRIVER_ID and the national identifiers (see `analyzer.py`). Here: the types that exist only in
Comprehend (CVV, card expiry, PIN, username, password, AWS keys, SWIFT code, licence plate, age,
vehicle identification number) and one shape Presidio's phone recognizer rejects (North American
numbers whose area code or exchange libphonenumber does not consider assigned, such as 555 numbers).

A context rule's value counts only after one of its keywords in the same sentence, within
`CONTEXT_WINDOW` characters; the nearer the keyword, the higher the score, so "account number ...
routing number 195991012" is a routing number. Each result names its Comprehend type directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult


@dataclass(frozen=True, slots=True)
class Finding:
    """A candidate entity: `begin`/`end` are code-point offsets into the paragraph."""

    type: str
    begin: int
    end: int
    score: float
    # Higher wins an overlap before score does: checksummed > street > context-confirmed > generic > NER.
    priority: int


# How far back (characters) a context word may stand, within the same sentence.
CONTEXT_WINDOW = 60
_SENTENCE_END = re.compile(r"[.!?;]\s|\n")


def context_distance(text: str, start: int, keywords: re.Pattern[str]) -> int | None:
    """Characters between the nearest keyword before `start` (same sentence) and `start`."""
    window_start = max(0, start - CONTEXT_WINDOW)
    window = text[window_start:start]
    # Only the current sentence: cut at the last sentence end inside the window.
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends:
        window = window[ends[-1]:]
    best = None
    for match in keywords.finditer(window):
        best = len(window) - match.end()
    return best


def _context_score(distance: int) -> float:
    # 0.99 right after the keyword, falling gently with distance.
    return round(max(0.6, 0.99 - distance * 0.004), 4)


@dataclass(frozen=True)
class ContextRule:
    """A value pattern that is PII of `type` only when a keyword stands shortly before it."""

    type: str
    value: re.Pattern[str]
    keywords: re.Pattern[str]
    validator: Callable[[str], bool] | None = None
    max_distance: int = CONTEXT_WINDOW


def _kw(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(words) + r")(?![A-Za-z])", re.IGNORECASE)


# Words that sit between a keyword and its value ("my username is jdoe") and are never the value.
_FILLER_WORDS = frozenset(
    ["is", "was", "are", "were", "be", "been", "my", "our", "your", "his", "her", "their", "the", "a", "an", "to", "as", "of", "for", "and", "or", "set", "it", "its", "called", "name", "number", "no", "this", "that", "with", "on", "in", "at"]
)

CONTEXT_RULES: tuple[ContextRule, ...] = (
    # Presidio's ABA and card recognizers require the ABA and Luhn checksums; Comprehend does not: its
    # published result for the golden record marks "routing number 195991012" and "credit card number
    # is 5534816011668430", which fail them. After their keyword, the number's shape is enough.
    ContextRule("BANK_ROUTING", re.compile(r"(?<![\w-])\d{9}(?![\w-])"), _kw(r"routing", r"aba", r"rtn")),
    ContextRule("CREDIT_DEBIT_NUMBER", re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])"),
                _kw(r"credit", r"debit", r"card", r"visa", r"mastercard", r"amex", r"cc")),
    ContextRule("CREDIT_DEBIT_CVV", re.compile(r"(?<![\w-])\d{3,4}(?![\w-])"),
                _kw(r"c\s?v\s?v2?", r"c\s?v\s?c2?", r"cid", r"security\s+code", r"card\s+verification")),
    ContextRule("CREDIT_DEBIT_EXPIRY",
                re.compile(r"(?<![\w/])(?:0?[1-9]|1[0-2])/(?:(?:0?[1-9]|[12]\d|3[01])/)?(?:\d{4}|\d{2})(?![\w/])"),
                _kw(r"exp", r"expiry", r"expires", r"expiration", r"valid\s+thru", r"valid\s+through")),
    ContextRule("PIN", re.compile(r"(?<![\w-])\d{4,8}(?![\w-])"), _kw(r"pin", r"pin\s+code", r"passcode")),
    ContextRule("USERNAME", re.compile(r"(?<![\w@.-])@?[A-Za-z][\w.-]{2,30}(?<![.-])(?![\w@-])"),
                _kw(r"username", r"user\s*name", r"user\s*id", r"login", r"handle"), max_distance=16),
    # A password must hold something other than letters, or it is more likely the next word.
    ContextRule("PASSWORD", re.compile(r"(?<!\S)(?=\S*[^A-Za-z\s])\S{6,64}(?<![.,;:!?])"),
                _kw(r"password", r"passwd", r"pwd", r"passphrase"), max_distance=16),
    ContextRule("AWS_SECRET_KEY", re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
                _kw(r"secret", r"aws_secret_access_key", r"secret\s+access\s+key")),
    ContextRule("SWIFT_CODE", re.compile(r"(?<![\w-])[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![\w-])"),
                _kw(r"swift", r"bic")),
    ContextRule("LICENSE_PLATE", re.compile(r"(?<![\w-])[A-Z0-9]{1,4}[- ]?[A-Z0-9]{2,4}(?![\w-])"),
                _kw(r"license\s+plate", r"plate", r"registration")),
    ContextRule("AGE", re.compile(r"(?<![\w.])\d{1,3}(?![\w.])"), _kw(r"age", r"aged")),
    ContextRule("AGE", re.compile(r"(?<![\w.])\d{1,3}(?![\w:/-]|\.\d|\s*(?:minutes?|hours?|days?|weeks?|months?|"
                                  r"times?|of|%|percent|[ap]\.?m\b|o'clock))"),
                _kw(r"turned", r"turns?", r"(?:he|she|I|they|you)\s+(?:was|were|am|is|are)", r"i'm"), max_distance=2),
    # Numbers Presidio's phone recognizer does not find (national numbers of countries outside its
    # numbering plans, written without a country code) right after a phone word.
    ContextRule("PHONE", re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}(?![\w])"),
                _kw(r"phone", r"tel", r"telephone", r"mobile", r"cell", r"fax", r"desk", r"call\s+me\s+(?:on|at)",
                    r"text\s+me\s+(?:on|at)", r"reach\s+me\s+(?:on|at)", r"answering\s+at", r"messages\s+to"),
                validator=lambda v: 6 <= sum(c.isdigit() for c in v) <= 15, max_distance=24),
    # A postcode after its keyword ("ZIP: 32700", "my zip code is 97400").
    ContextRule("ADDRESS", re.compile(r"(?<![\w-])(?=[A-Z0-9 -]*\d)[A-Z0-9]{3,5}(?:[- ][A-Z0-9]{3,4})?(?![\w-])"),
                _kw(r"zip", r"zip\s*code", r"postal\s+code", r"post\s*code"), max_distance=12),
)

# North American numbers written with separators, optional +1 / 001 and an extension.
_PHONE_NANP = re.compile(
    r"(?<![\w+])(?:(?:\+?1|001)[-. ]?)?(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?![\w])", re.IGNORECASE)
# AWS access key ids: "AKIA"/"ASIA"/... and 16 more (IAM user guide, "Understanding unique ID prefixes").
_AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")
_VIN = re.compile(r"(?<![\w])[A-HJ-NPR-Z0-9]{17}(?![\w])")
_AGE_PHRASE = re.compile(r"(?<![\w.])(\d{1,3})(?:(?:\s*|-)(?:years?|yrs?)(?:\s*|-)old\b|\s*y/o\b)", re.IGNORECASE)
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_VALUES = {**{str(d): d for d in range(10)},
               **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}


def vin_valid(vin: str) -> bool:
    """North American VIN check digit (position 9), per 49 CFR 565."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    check = "X" if total % 11 == 10 else str(total % 11)
    return vin[8] == check and any(c.isalpha() for c in vin) and any(c.isdigit() for c in vin)


# Issuer prefixes (IIN ranges) and lengths of the major card networks, from ISO/IEC 7812 registrations
# as the networks publish them: (prefix range low, high, lengths).
_CARD_RANGES = (
    ("4", "4", (13, 16, 19)), ("51", "55", (16,)), ("2221", "2720", (16,)), ("34", "34", (15,)),
    ("37", "37", (15,)), ("6011", "6011", (16, 19)), ("644", "649", (16, 19)), ("65", "65", (16, 19)),
    ("35", "35", (16, 19)), ("300", "305", (14,)), ("36", "36", (14,)), ("38", "39", (14, 16)),
    ("50", "50", tuple(range(12, 20))), ("56", "69", tuple(range(12, 20))), ("1800", "1800", (15,)),
    ("2131", "2131", (15,)), ("62", "62", tuple(range(16, 20))), ("0604", "0604", tuple(range(12, 20))),
)


def card_prefix_valid(digits: str) -> bool:
    """True when the number starts with a card network's issuer prefix and has one of its lengths."""
    return any(low <= digits[:len(low)] <= high and len(digits) in lengths for low, high, lengths in _CARD_RANGES)


def result(recognizer: Any, kind: str, begin: int, end: int, score: float) -> RecognizerResult:
    """A Presidio result that names its recognizer (the engine ranks overlaps by recognizer)."""
    name = str(recognizer.name)
    explanation = AnalysisExplanation(recognizer=name, original_score=score)
    return RecognizerResult(kind, begin, end, score, explanation,
                            {RecognizerResult.RECOGNIZER_NAME_KEY: name,
                             RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id})


class ContextRuleRecognizer(EntityRecognizer):
    """Comprehend-only types whose value shape counts after a keyword (CVV, expiry, PIN, ...)."""

    def __init__(self) -> None:
        super().__init__(supported_entities=sorted({r.type for r in CONTEXT_RULES}), name="ContextRuleRecognizer")

    def load(self) -> None:  # nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        return list(self._results(text))

    def _results(self, text: str) -> Iterator[RecognizerResult]:
        for rule in CONTEXT_RULES:
            for m in rule.value.finditer(text):
                if m.group().lower() in _FILLER_WORDS:
                    continue
                distance = context_distance(text, m.start(), rule.keywords)
                if distance is None or distance > rule.max_distance:
                    continue
                if rule.validator and not rule.validator(m.group()):
                    continue
                yield result(self, rule.type, m.start(), m.end(), min(_context_score(distance), 0.9999))


class FormRecognizer(EntityRecognizer):
    """Comprehend-only types recognised by form alone: AWS access key ids, VINs (check digit), ages
    ("34 years old"), and North American phone shapes libphonenumber rejects as unassigned."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["AWS_ACCESS_KEY", "VEHICLE_IDENTIFICATION_NUMBER", "AGE", "PHONE"],
                         name="FormRecognizer")

    def load(self) -> None:  # nothing to load
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        found = [result(self, "AWS_ACCESS_KEY", m.start(), m.end(), 0.9999) for m in _AWS_ACCESS_KEY.finditer(text)]
        found += [result(self, "VEHICLE_IDENTIFICATION_NUMBER", m.start(), m.end(), 0.999)
                  for m in _VIN.finditer(text) if vin_valid(m.group())]
        found += [result(self, "AGE", m.start(1), m.end(1), 0.99) for m in _AGE_PHRASE.finditer(text)]
        found += [result(self, "PHONE", m.start(), m.end(), 0.99) for m in _PHONE_NANP.finditer(text)]
        return found
