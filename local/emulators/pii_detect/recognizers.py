"""Pattern, checksum and context-word recognizers for Comprehend's structured PII types.

Each recognizer turns one paragraph into candidate `Finding`s; the engine resolves overlaps. Phone
numbers come from Google's libphonenumber port (`phonenumbers`), the rest are regular expressions
checked by the type's own validity rule (Luhn, ABA, IBAN mod 97, SSN number ranges, octet ranges).
A context word counts only when it is in the same sentence, shortly before the candidate; the nearer
it is, the higher the score, so "account number ... routing number 195991012" is a routing number.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True, slots=True)
class Finding:
    """A candidate entity: `begin`/`end` are code-point offsets into the paragraph."""

    type: str
    begin: int
    end: int
    score: float
    # Higher wins an overlap before score does: checksummed > context-confirmed > generic > NER.
    priority: int


# How far back (characters) a context word may stand, within the same sentence.
CONTEXT_WINDOW = 60
_SENTENCE_END = re.compile(r"[.!?;]\s|\n")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers (ISO/IEC 7812-1)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


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


def aba_valid(digits: str) -> bool:
    """ABA routing-number checksum: weights 3, 7, 1 repeated, sum divisible by 10."""
    weights = (3, 7, 1) * 3
    return len(digits) == 9 and sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def iban_valid(text: str) -> bool:
    """ISO 13616 IBAN check: move the first four characters to the end, letters to numbers, mod 97."""
    compact = re.sub(r"\s", "", text).upper()
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return len(compact) >= 15 and int(numeric) % 97 == 1


def ssn_valid(digits: str) -> bool:
    """SSA never issues area 000, 666 or 900-999, group 00 or serial 0000."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


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
    valid_bonus: float = 0.0
    max_distance: int = CONTEXT_WINDOW


def _kw(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z])(?:" + "|".join(words) + r")(?![A-Za-z])", re.IGNORECASE)


_DIGITS = re.compile(r"\d")
# Words that sit between a keyword and its value ("my username is jdoe") and are never the value.
_FILLER_WORDS = frozenset(
    ["is", "was", "are", "were", "be", "been", "my", "our", "your", "his", "her", "their", "the", "a", "an", "to", "as", "of", "for", "and", "or", "set", "it", "its", "called", "name", "number", "no", "this", "that", "with", "on", "in", "at"]
)

CONTEXT_RULES: tuple[ContextRule, ...] = (
    ContextRule("BANK_ACCOUNT_NUMBER", re.compile(r"(?<![\w-])\d{8,17}(?![\w-])"),
                _kw(r"account", r"acct", r"a/c", r"checking", r"savings")),
    ContextRule("BANK_ROUTING", re.compile(r"(?<![\w-])\d{9}(?![\w-])"),
                _kw(r"routing", r"aba", r"rtn", r"transit"), validator=aba_valid, valid_bonus=0.005),
    ContextRule("CREDIT_DEBIT_NUMBER", re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
                _kw(r"credit", r"debit", r"card", r"visa", r"mastercard", r"amex", r"cc")),
    ContextRule("CREDIT_DEBIT_CVV", re.compile(r"(?<![\w-])\d{3,4}(?![\w-])"),
                _kw(r"c\s?v\s?v2?", r"c\s?v\s?c2?", r"cid", r"security\s+code", r"card\s+verification")),
    ContextRule("CREDIT_DEBIT_EXPIRY",
                re.compile(r"(?<![\w/])(?:0?[1-9]|1[0-2])/(?:(?:0?[1-9]|[12]\d|3[01])/)?(?:\d{4}|\d{2})(?![\w/])"),
                _kw(r"exp", r"expiry", r"expires", r"expiration", r"valid\s+thru", r"valid\s+through")),
    ContextRule("PIN", re.compile(r"(?<![\w-])\d{4,8}(?![\w-])"), _kw(r"pin", r"pin\s+code", r"passcode")),
    ContextRule("SSN", re.compile(r"(?<![\w-])\d{9}(?![\w-])"),
                _kw(r"ssn", r"social\s+security", r"social"), validator=ssn_valid),
    ContextRule("PASSPORT_NUMBER", re.compile(r"(?<![\w-])[A-Z]{0,2}\d{6,9}(?![\w-])"), _kw(r"passport")),
    ContextRule("DRIVER_ID", re.compile(r"(?<![\w-])[A-Z]{0,2}\d[A-Z\d-]{4,14}(?![\w-])"),
                _kw(r"driver'?s?\s+licen[cs]e", r"driving\s+licen[cs]e", r"DL", r"license\s+(?:no|number|#)")),
    ContextRule("USERNAME", re.compile(r"(?<![\w@.-])@?[A-Za-z][\w.-]{2,30}(?<![.-])(?![\w@-])"),
                _kw(r"username", r"user\s*name", r"user\s*id", r"login", r"handle"), max_distance=16),
    # A password must hold something other than letters, or it is more likely the next word.
    ContextRule("PASSWORD", re.compile(r"(?<!\S)(?=\S*[^A-Za-z\s])\S{6,64}(?<![.,;:!?])"),
                _kw(r"password", r"passwd", r"pwd", r"passphrase"), max_distance=16),
    ContextRule("AWS_SECRET_KEY", re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"),
                _kw(r"secret", r"aws_secret_access_key", r"secret\s+access\s+key")),
    ContextRule("SWIFT_CODE", re.compile(r"(?<![\w-])[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?![\w-])"),
                _kw(r"swift", r"bic")),
    ContextRule("CA_SOCIAL_INSURANCE_NUMBER", re.compile(r"(?<![\w-])\d{3}[- ]?\d{3}[- ]?\d{3}(?![\w-])"),
                _kw(r"sin", r"social\s+insurance"), validator=lambda v: luhn_valid(re.sub(r"\D", "", v))),
    ContextRule("LICENSE_PLATE", re.compile(r"(?<![\w-])[A-Z0-9]{1,4}[- ]?[A-Z0-9]{2,4}(?![\w-])"),
                _kw(r"license\s+plate", r"plate", r"registration")),
    ContextRule("AGE", re.compile(r"(?<![\w.])\d{1,3}(?![\w.])"), _kw(r"age", r"aged")),
)

# Values whose form alone makes them PII.
# Unicode letters are allowed on both sides (internationalised addresses, RFC 6531).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_MAC = re.compile(r"(?<![\w:-])[0-9A-Fa-f]{2}(?:([:-])[0-9A-Fa-f]{2})(?:\1[0-9A-Fa-f]{2}){4}(?![\w:-])")
_SSN_FORMATTED = re.compile(r"(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){11,18}(?![\w-])")
# North American numbers written with separators, optional +1 / 001 and an extension: the shapes
# libphonenumber's strict matcher rejects when the area code or exchange is not assigned.
_PHONE_NANP = re.compile(
    r"(?<![\w+])(?:(?:\+?1|001)[-. ]?)?(?:\(\d{3}\)\s?|\d{3}[-. ])\d{3}[-. ]\d{4}"
    r"(?:\s?(?:x|ext\.?|extension)\s?\d{1,5})?(?![\w])", re.IGNORECASE)
_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![\w])")
_AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")
_VIN = re.compile(r"(?<![\w])[A-HJ-NPR-Z0-9]{17}(?![\w])")
_AGE_PHRASE = re.compile(r"(?<![\w.])(\d{1,3})(?:\s*|-)(?:years?|yrs?)(?:\s*|-)old\b", re.IGNORECASE)
_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
           r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DATE = re.compile(
    r"(?<![\w/.-])(?:"
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}/\d{1,2}/\d{2,4}"
    r"|\d{1,2}[.-]\d{1,2}[.-]\d{4}"
    rf"|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\.?,?\s+\d{{4}}"
    rf"|{_MONTHS}\s+\d{{4}}"
    r"|\d{1,2}:\d{2}(?::\d{2})?\s?(?:[AaPp]\.?[Mm]\.?)?"
    r")(?![\w/])"
)
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


def _form_findings(text: str) -> Iterator[Finding]:
    for m in _EMAIL.finditer(text):
        yield Finding("EMAIL", m.start(), m.end(), 0.9999, 5)
    for m in _URL.finditer(text):
        yield Finding("URL", m.start(), m.end(), 0.999, 4)
    for m in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
        except ValueError:
            continue
        yield Finding("IP_ADDRESS", m.start(), m.end(), 0.9999, 5)
    for m in _IPV6.finditer(text):
        if m.group().count(":") >= 2 and any(c.isalnum() for c in m.group()):
            try:
                ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            yield Finding("IP_ADDRESS", m.start(), m.end(), 0.9999, 5)
    for m in _MAC.finditer(text):
        yield Finding("MAC_ADDRESS", m.start(), m.end(), 0.999, 5)
    for m in _SSN_FORMATTED.finditer(text):
        if ssn_valid(m.group(1) + m.group(3) + m.group(4)):
            yield Finding("SSN", m.start(), m.end(), 0.9999, 5)
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if luhn_valid(digits) and card_prefix_valid(digits):
            yield Finding("CREDIT_DEBIT_NUMBER", m.start(), m.end(), 0.9999, 5)
    for m in _IBAN.finditer(text):
        if iban_valid(m.group()):
            yield Finding("INTERNATIONAL_BANK_ACCOUNT_NUMBER", m.start(), m.end(), 0.9999, 5)
    for m in _AWS_ACCESS_KEY.finditer(text):
        yield Finding("AWS_ACCESS_KEY", m.start(), m.end(), 0.9999, 5)
    for m in _VIN.finditer(text):
        if vin_valid(m.group()):
            yield Finding("VEHICLE_IDENTIFICATION_NUMBER", m.start(), m.end(), 0.999, 5)
    for m in _AGE_PHRASE.finditer(text):
        yield Finding("AGE", m.start(1), m.end(1), 0.99, 3)
    for m in _DATE.finditer(text):
        yield Finding("DATE_TIME", m.start(), m.end(), 0.98, 2)


def _phone_findings(text: str) -> Iterator[Finding]:
    # libphonenumber's matcher is the slow part; skip paragraphs with too few digits to hold a number.
    if len(_DIGITS.findall(text)) < 7:
        return
    for match in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.VALID):
        yield Finding("PHONE", match.start, match.end, 0.999, 4)
    for m in _PHONE_NANP.finditer(text):
        yield Finding("PHONE", m.start(), m.end(), 0.99, 4)


def _context_findings(text: str) -> Iterator[Finding]:
    for rule in CONTEXT_RULES:
        for m in rule.value.finditer(text):
            if m.group().lower() in _FILLER_WORDS:
                continue
            distance = context_distance(text, m.start(), rule.keywords)
            if distance is None or distance > rule.max_distance:
                continue
            valid = rule.validator(m.group()) if rule.validator else True
            if rule.validator and not valid and rule.type in ("SSN", "CA_SOCIAL_INSURANCE_NUMBER"):
                continue
            score = _context_score(distance) + (rule.valid_bonus if valid else 0.0)
            yield Finding(rule.type, m.start(), m.end(), min(score, 0.9999), 3)


def structured_findings(text: str) -> list[Finding]:
    """Every structured-type candidate in one paragraph (overlaps unresolved)."""
    return [*_form_findings(text), *_phone_findings(text), *_context_findings(text)]
