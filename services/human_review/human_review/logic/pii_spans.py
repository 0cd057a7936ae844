"""PII review answers → the augmented manifest Amazon Comprehend trains a custom entity recognizer on.

The reviewer judges each span pii_redaction was unsure of: PII of a type (one of the policy's
classes), or `NOT_PII`. The answer (`answerContent.piiSpans`, a list or its JSON text, as a
crowd-form hidden input sends it) has one `{beginOffset, endOffset, label}` per candidate span.

The line has Ground Truth's named-entity-recognition shape, which Comprehend accepts as
`DataFormat: AUGMENTED_MANIFEST` (documentType PLAIN_TEXT_DOCUMENT), e.g.
`{"source": "<text>", "<attr>": {"annotations": {"entities": [{"startOffset": 0, "endOffset": 13,
"label": "NAME"}], "labels": [{"label": "NAME"}, ...]}}, "<attr>-metadata": {"entities":
[{"confidence": 1}], "job-name": ..., "type": "groundtruth/text-span", "creation-date": ...,
"human-annotated": "yes"}}` — source: Amazon Comprehend Developer Guide, "Augmented manifest
files" for custom entity recognizers (docs.aws.amazon.com/comprehend/latest/dg/cer-annotation-manifest.html),
and CreateEntityRecognizer's EntityRecognizerInputDataConfig (at most 25 entity types; no space or
comma in a type). Spans judged `NOT_PII` are left out: the document is then a negative example for
that stretch of text. The `source` is the text itself, so these lines are written to the raw-PII
bucket only (`pii-review/manifests/parts/<dataset>/<loop>.jsonl`). Offsets are code points of the
field value, as pii_redaction reports them. Pure.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from human_review.logic.manifests import ManifestContext, ManifestError, creation_date
from human_review.models import A2IOutput, CandidateSpan
from pitwall_shared.inputs import problems_of

NOT_PII = "NOT_PII"
MAX_ENTITY_TYPES = 25  # CreateEntityRecognizer: at most 25 entity types (EntityRecognizerInputDataConfig)


class PiiTaskObject(BaseModel):
    """The task object pii_redaction writes under pii-review/ (raw-PII bucket)."""

    model_config = ConfigDict(extra="ignore")

    text: str
    spans: list[CandidateSpan] = Field(min_length=1)
    field: str
    record_id: str


class _AnsweredSpan(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    begin_offset: int = Field(alias="beginOffset", ge=0)
    end_offset: int = Field(alias="endOffset", ge=1)
    label: str = Field(pattern=r"^[A-Z][A-Z_]*$", max_length=64)


def pii_part_uri(bucket: str, dataset: str, human_loop_name: str) -> str:
    """Where a PII review's manifest part goes: the raw-PII bucket, beside the task objects."""
    return f"s3://{bucket}/pii-review/manifests/parts/{dataset}/{human_loop_name}.jsonl"


def answered_spans(answer_content: dict[str, Any]) -> list[_AnsweredSpan]:
    """The reviewer's span labels (`piiSpans`: a list, or its JSON text from a hidden form input)."""
    raw = answer_content.get("piiSpans")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ManifestError("answerContent.piiSpans: not valid JSON") from None
    if not isinstance(raw, list):
        raise ManifestError("answerContent.piiSpans: missing or not a list")
    try:
        return [_AnsweredSpan.model_validate(item) for item in raw]
    except ValidationError as error:
        problem = problems_of(error, dotted=True, root="")[0]  # the field and reason, never the value
        raise ManifestError(f"answerContent.piiSpans.{problem.field}: {problem.reason}".rstrip(".")) from None


def text_span_line(context: ManifestContext, output: A2IOutput, task: PiiTaskObject) -> dict[str, Any]:
    """One Comprehend/Ground Truth named-entity line from the first answer (TaskCount is 1)."""
    if output.human_loop_name != context.human_loop_name:
        raise ManifestError("humanLoopName: output.json belongs to another loop")
    answer = sorted(output.human_answers, key=lambda item: item.submission_time)[0]
    answered = {(span.begin_offset, span.end_offset): span.label for span in answered_spans(answer.answer_content)}
    allowed = set(context.classes) | {NOT_PII}
    entities = []
    for span in task.spans:
        label = answered.get((span.begin_offset, span.end_offset))
        if label is None:
            raise ManifestError("answerContent.piiSpans: a candidate span has no answer")
        if label not in allowed:
            raise ManifestError("answerContent.piiSpans.label: not one of the policy's entity types")
        if span.end_offset > len(task.text):
            raise ManifestError("task object: a span ends after the text")
        if label != NOT_PII:
            entities.append({"startOffset": span.begin_offset, "endOffset": span.end_offset, "label": label})
    types = [name for name in context.classes if name != NOT_PII][:MAX_ENTITY_TYPES]
    return {
        "source": task.text,
        context.dataset: {"annotations": {"entities": entities, "labels": [{"label": name} for name in types]}},
        f"{context.dataset}-metadata": {
            "entities": [{"confidence": 1} for _ in entities],
            "job-name": f"a2i/{context.human_loop_name}",
            "type": "groundtruth/text-span",
            "creation-date": creation_date(answer.submission_time),
            "human-annotated": "yes",
        },
    }


def settled_label(line: dict[str, Any], dataset: str) -> str:
    """The label a person settled on, for the loop record: the most common entity type, or NOT_PII."""
    entities = line[dataset]["annotations"]["entities"]
    if not entities:
        return NOT_PII
    return str(Counter(entity["label"] for entity in entities).most_common(1)[0][0])
