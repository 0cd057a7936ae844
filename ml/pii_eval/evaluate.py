"""Labelled evaluation of the Comprehend emulator's detector on sentences we did not write: Microsoft
presidio-evaluator's templates and fake-identity data (PresidioSentenceFaker), with known spans.

Presidio's labels map to Comprehend's types (PERSON→NAME, STREET_ADDRESS/GPE/ZIP_CODE→ADDRESS, ...);
labels Comprehend has no type for (ORGANIZATION, TITLE, NRP) are not scored. A gold entity is found
when a predicted entity of the same type covers at least half of its characters; a prediction is
correct when it overlaps a gold entity of its type. `masked` is the share of gold characters that
any prediction covers (what redaction needs, whatever the type).

Usage::

    .venv/bin/python -m ml.pii_eval.evaluate --samples 1500 --seed 42
    .venv/bin/python -m ml.pii_eval.evaluate --focus EMAIL,SSN,CREDIT_DEBIT_NUMBER,PHONE,IP_ADDRESS
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field

from local.emulators.pii_detect import PiiDetector

PRESIDIO_TO_COMPREHEND = {
    "PERSON": "NAME",
    "STREET_ADDRESS": "ADDRESS",
    "GPE": "ADDRESS",
    "ZIP_CODE": "ADDRESS",
    "CREDIT_CARD": "CREDIT_DEBIT_NUMBER",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "SSN",
    "EMAIL_ADDRESS": "EMAIL",
    "IP_ADDRESS": "IP_ADDRESS",
    "DOMAIN_NAME": "URL",
    "DATE_TIME": "DATE_TIME",
    "AGE": "AGE",
    "US_DRIVER_LICENSE": "DRIVER_ID",
    "IBAN_CODE": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
}
# North American numbering plan shapes (the recall target for PHONE is on these).
NANP = re.compile(r"(?:(?:\+?1|001)[-. ]?)?(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[-. ])\d{3}[-. ]\d{4}"
                  r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?", re.IGNORECASE)
# Template placeholders of each Comprehend type, to draw sentences that exercise chosen types.
PLACEHOLDERS = {
    "EMAIL": ("email",), "SSN": ("ssn",), "CREDIT_DEBIT_NUMBER": ("credit_card_number",),
    "PHONE": ("phone_number",), "IP_ADDRESS": ("ip_address",),
    "NAME": ("person", "name", "first_name", "last_name"), "ADDRESS": ("address", "city", "street_name"),
}


@dataclass
class Score:
    gold: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0
    gold_chars: int = 0
    masked_chars: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else float("nan")

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else float("nan")

    @property
    def masked(self) -> float:
        return self.masked_chars / self.gold_chars if self.gold_chars else float("nan")


@dataclass
class Evaluation:
    scores: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    sentences: int = 0

    def table(self) -> str:
        lines = [f"{'type':<34}{'gold':>6}{'pred':>6}{'precision':>11}{'recall':>8}{'masked':>8}"]
        for name in sorted(self.scores):
            s = self.scores[name]
            lines.append(f"{name:<34}{s.gold:>6}{s.predicted:>6}{s.precision:>11.3f}{s.recall:>8.3f}{s.masked:>8.3f}")
        return "\n".join(lines)


def sentences(samples: int, seed: int, focus: tuple[str, ...] = ()) -> list:
    """Fake sentences from presidio-evaluator's templates (only those exercising `focus`, if given)."""
    from presidio_evaluator.data_generator import PresidioSentenceFaker
    from presidio_evaluator.data_generator.faker_extensions.providers import HospitalProvider
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_additional_entity_providers,
        presidio_templates_file_path,
    )

    templates = [line.strip() for line in presidio_templates_file_path.read_text().splitlines() if line.strip()]
    # The hospital provider queries WikiData on construction; nothing here may reach the network.
    templates = [t for t in templates if "{{hospital" not in t]
    providers = [p for p in presidio_additional_entity_providers if p is not HospitalProvider]
    if focus:
        wanted = {p for name in focus for p in PLACEHOLDERS.get(name, ())}
        templates = [t for t in templates if any("{{" + p + "}}" in t for p in wanted)]
    random.seed(seed)
    # The library prints progress and notices; the evaluation prints its own table.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.0, sentence_templates=templates,
                                      entity_providers=providers, random_seed=seed)
        return faker.generate_new_fake_sentences(samples)


def evaluate(samples: list, detector: PiiDetector | None = None) -> Evaluation:
    detector = detector or PiiDetector()
    result = Evaluation(sentences=len(samples))
    for sample in samples:
        # Some templates hold a literal backslash-n where they mean a line break; a space and a newline
        # keep every offset.
        text = sample.full_text.replace("\\n", " \n")
        gold = [(PRESIDIO_TO_COMPREHEND[s.entity_type], s.start_position, s.end_position) for s in sample.spans
                if s.entity_type in PRESIDIO_TO_COMPREHEND and s.end_position > s.start_position]
        predicted = detector.detect(text)
        covered = {i for e in predicted for i in range(e.begin, e.end)}
        for kind, begin, end in gold:
            score = result.scores[kind]
            score.gold += 1
            score.gold_chars += end - begin
            score.masked_chars += sum(1 for i in range(begin, end) if i in covered)
            same = [e for e in predicted if e.type == kind]
            best = max((min(end, e.end) - max(begin, e.begin) for e in same), default=0)
            score.found += best * 2 >= end - begin
            if kind == "PHONE" and NANP.fullmatch(text[begin:end]):
                na = result.scores["PHONE (N. American)"]
                na.gold += 1
                na.found += best * 2 >= end - begin
                na.gold_chars += end - begin
                na.masked_chars += sum(1 for i in range(begin, end) if i in covered)
        for e in predicted:
            score = result.scores[e.type]
            score.predicted += 1
            score.correct += any(kind == e.type and min(end, e.end) > max(begin, e.begin) for kind, begin, end in gold)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--focus", default="", help="comma-separated Comprehend types to draw templates for")
    args = parser.parse_args()
    focus = tuple(t.strip() for t in args.focus.split(",") if t.strip())
    evaluation = evaluate(sentences(args.samples, args.seed, focus))
    print(f"{evaluation.sentences} sentences from presidio-evaluator templates (seed {args.seed}"
          + (f", focus {','.join(focus)}" if focus else "") + ")")
    print(evaluation.table())


if __name__ == "__main__":
    main()
