"""The emulator's detector: paragraphs in, Comprehend-style entities (type, code-point offsets, score) out.

Detection is Presidio's analyzer (`analyzer.py`) with its entity types mapped to Comprehend's. Text
is analysed paragraph by paragraph (paragraphs are separated by a blank line): an entity never
spans a blank line and a context word never reaches across one. Overlapping candidates are resolved
by priority (checksummed forms > street addresses > context-confirmed > generic forms > the NER
model), then by score, then by length. Paragraph results are memoised, which changes the
emulator's CPU cost and nothing else.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from local.emulators.pii_detect import analyzer
from local.emulators.pii_detect.ner import merge_addresses, nlp_artifacts, propagate_names
from local.emulators.pii_detect.recognizers import Finding

# Comprehend's PII entity types (DetectPiiEntities API reference, PiiEntity.Type).
ENTITY_TYPES: tuple[str, ...] = (
    "BANK_ACCOUNT_NUMBER", "BANK_ROUTING", "CREDIT_DEBIT_NUMBER", "CREDIT_DEBIT_CVV", "CREDIT_DEBIT_EXPIRY",
    "PIN", "EMAIL", "ADDRESS", "NAME", "PHONE", "SSN", "DATE_TIME", "PASSPORT_NUMBER", "DRIVER_ID", "URL",
    "AGE", "USERNAME", "PASSWORD", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "IP_ADDRESS", "MAC_ADDRESS", "ALL",
    "LICENSE_PLATE", "VEHICLE_IDENTIFICATION_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
    "CA_SOCIAL_INSURANCE_NUMBER", "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "IN_PERMANENT_ACCOUNT_NUMBER", "IN_NREGA",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    "CA_HEALTH_NUMBER", "IN_AADHAAR", "IN_VOTER_NUMBER",
)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")


@dataclass(frozen=True, slots=True)
class Entity:
    """One detected entity; offsets are code points into the whole request text."""

    type: str
    begin: int
    end: int
    score: float


def paragraphs(text: str) -> list[tuple[int, str]]:
    """`(offset, paragraph)` pairs of the non-blank paragraphs of `text`."""
    spans, start = [], 0
    for m in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, text[start:m.start()]))
        start = m.end()
    spans.append((start, text[start:]))
    return [(offset, p) for offset, p in spans if p.strip()]


def resolve(findings: list[Finding], text: str) -> list[Finding]:
    """Non-overlapping findings, best first by priority, score, length; sorted by offset."""
    ranked = sorted(findings, key=lambda f: (-f.priority, -f.score, -(f.end - f.begin), f.begin))
    taken: list[Finding] = []
    for f in ranked:
        if f.end <= f.begin:
            continue
        if all(f.end <= t.begin or f.begin >= t.end for t in taken):
            taken.append(f)
    return sorted(merge_addresses(propagate_names(taken, text), text), key=lambda f: f.begin)


class PiiDetector:
    """Finds PII entities in text.

    >>> detector = PiiDetector()
    >>> [(e.type, e.begin, e.end) for e in detector.detect("Mail me at ana@example.org.")]
    [('EMAIL', 11, 26)]
    """

    def __init__(self, *, use_model: bool = True, cache_size: int = 20_000) -> None:
        self.use_model = use_model
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Finding, ...]] = OrderedDict()

    def load(self) -> None:
        """Build the analyzer and load the NER model now (about 3 s) instead of inside the first request."""
        self._analyse(["warm-up"])
        self._cache.pop("warm-up", None)

    def clear_cache(self) -> None:
        self._cache.clear()

    def _analyse(self, texts: list[str]) -> list[tuple[Finding, ...]]:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            engine = analyzer.analyzer(self.use_model)
            artifacts = nlp_artifacts(engine.nlp_engine, missing)
            for text, nlp in zip(missing, artifacts, strict=True):
                results = engine.analyze(text, language="en", nlp_artifacts=nlp)
                self._cache[text] = tuple(resolve(analyzer.findings(results, text), text))
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [self._cache[t] for t in texts]

    def detect(self, text: str) -> list[Entity]:
        """Every entity in `text`, in order of offset."""
        parts = paragraphs(text)
        results = self._analyse([p for _, p in parts])
        return [
            Entity(f.type, offset + f.begin, offset + f.end, f.score)
            for (offset, _), found in zip(parts, results, strict=True)
            for f in found
        ]

    def labels(self, text: str) -> dict[str, float]:
        """The entity types present in `text` with their best score (ContainsPiiEntities)."""
        best: dict[str, float] = {}
        for e in self.detect(text):
            best[e.type] = max(best.get(e.type, 0.0), e.score)
        return best
