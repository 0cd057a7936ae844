"""A2I answers → SageMaker Ground Truth augmented-manifest lines.

The reviewer's task template answers like the crowd HTML elements do: object detection as
`crowd-bounding-box` named `annotatedResult` (`boundingBoxes` in pixels + `inputImageProperties`),
classification as `crowd-classifier` named `category` (`{"label": ...}`). The lines follow Ground
Truth's output formats for object detection and image / text classification. Pure functions.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from human_review.models import A2IOutput, HumanAnswer, TaskType
from pitwall_shared.inputs import problems_of

IMAGE_DEPTH = 3  # the reviewer sees a decoded RGB image; Ground Truth reports 3 for RGB inputs


class ManifestError(ValueError):
    """The human answer cannot be turned into a manifest line (names the field at fault)."""


class ManifestContext(BaseModel):
    """What the loop record knows that the answer does not."""

    model_config = ConfigDict(frozen=True)

    human_loop_name: str
    dataset: str
    task_type: TaskType
    source_ref: str | None = None  # s3:// URI of the task object
    source_text: str | None = None  # for text tasks without an object in S3
    classes: tuple[str, ...] = ()
    image: bool = True  # whether `source_ref` is an image (image- vs text-classification)


class _Box(BaseModel):
    model_config = ConfigDict(extra="ignore")

    label: str = Field(min_length=1)
    left: float
    top: float
    width: float
    height: float


class _ImageProperties(BaseModel):
    model_config = ConfigDict(extra="ignore")

    width: int = Field(gt=0)
    height: int = Field(gt=0)


class _BoundingBoxAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    boundingBoxes: list[_Box]  # noqa: N815 - crowd-bounding-box's own field names
    inputImageProperties: _ImageProperties  # noqa: N815


def creation_date(moment: datetime) -> str:
    """Ground Truth's `creation-date` form: UTC, no offset, microseconds (`2026-11-22T10:00:00.000000`)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _class_ids(classes: tuple[str, ...], labels: list[str]) -> dict[str, int]:
    # Configured classes keep their ids across parts; a label a reviewer added gets the next id.
    ids = {name: index for index, name in enumerate(classes)}
    for label in labels:
        ids.setdefault(label, len(ids))
    return ids


def _source(context: ManifestContext) -> dict[str, Any]:
    if context.source_ref:
        return {"source-ref": context.source_ref}
    if context.source_text is not None:
        return {"source": context.source_text}
    raise ManifestError("loop record has neither a task object nor a text")


def _job_name(context: ManifestContext) -> str:
    return f"a2i/{context.human_loop_name}"


def object_detection_line(context: ManifestContext, answer: HumanAnswer) -> dict[str, Any]:
    """One Ground Truth object-detection line from a bounding-box answer."""
    if not context.source_ref:
        raise ManifestError("object detection needs the image's source-ref")
    try:
        result = _BoundingBoxAnswer.model_validate(answer.answer_content.get("annotatedResult"))
    except ValidationError as error:
        problem = problems_of(error, dotted=True, root="")[0]  # the field and reason, never the value
        where = f"answerContent.annotatedResult.{problem.field}".rstrip(".")
        raise ManifestError(f"{where}: {problem.reason}") from None
    size = result.inputImageProperties
    boxes = []
    for box in result.boundingBoxes:
        # Clip to the image: a box dragged past the edge still means the object at the edge.
        left, top = max(0, round(box.left)), max(0, round(box.top))
        right = min(size.width, round(box.left + box.width))
        bottom = min(size.height, round(box.top + box.height))
        if right > left and bottom > top:
            boxes.append((box.label, left, top, right - left, bottom - top))
    ids = _class_ids(context.classes, [label for label, *_ in boxes])
    attribute = f"{context.dataset}_BB"
    return {
        **_source(context),
        attribute: {
            "image_size": [{"width": size.width, "height": size.height, "depth": IMAGE_DEPTH}],
            "annotations": [
                {"class_id": ids[label], "left": left, "top": top, "width": width, "height": height}
                for label, left, top, width, height in boxes
            ],
        },
        f"{attribute}-metadata": {
            "objects": [{"confidence": 1} for _ in boxes],
            "class-map": {str(index): name for name, index in ids.items()},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": creation_date(answer.submission_time),
            "job-name": _job_name(context),
        },
    }


def answered_label(answer: HumanAnswer) -> str:
    """The label of a classification answer (`{"category": {"label": ...}}`)."""
    category = answer.answer_content.get("category")
    label = category.get("label") if isinstance(category, dict) else None
    if not isinstance(label, str) or not label:
        raise ManifestError("answerContent.category.label: missing or not a non-empty string")
    return label


def classification_line(context: ManifestContext, answers: list[HumanAnswer]) -> dict[str, Any]:
    """One Ground Truth classification line: the majority label, its share as the confidence."""
    labels = [answered_label(answer) for answer in answers]
    counts = Counter(labels)
    # Majority; on a tie the label answered first wins, so the line does not depend on dict order.
    label = max(counts, key=lambda name: (counts[name], -labels.index(name)))
    ids = _class_ids(context.classes, [label])
    kind = "image" if context.source_ref and context.image else "text"
    return {
        **_source(context),
        context.dataset: ids[label],
        f"{context.dataset}-metadata": {
            "class-name": label,
            "confidence": round(counts[label] / len(labels), 4),
            "type": f"groundtruth/{kind}-classification",
            "human-annotated": "yes",
            "creation-date": creation_date(max(answer.submission_time for answer in answers)),
            "job-name": _job_name(context),
        },
    }


def manifest_line(context: ManifestContext, output: A2IOutput) -> dict[str, Any]:
    """Convert a completed loop's `output.json` into the augmented-manifest line of its task type."""
    if output.human_loop_name != context.human_loop_name:
        raise ManifestError("humanLoopName: output.json belongs to another loop")
    answers = sorted(output.human_answers, key=lambda answer: answer.submission_time)
    if context.task_type is TaskType.OBJECT_DETECTION:
        return object_detection_line(context, answers[0])
    return classification_line(context, answers)


def corrected_label(line: dict[str, Any], context: ManifestContext) -> str | None:
    """The label a person settled on: the class of a classification, the most boxed class otherwise."""
    metadata = line[f"{context.dataset}{'_BB' if context.task_type is TaskType.OBJECT_DETECTION else ''}-metadata"]
    if context.task_type is TaskType.CLASSIFICATION:
        return str(metadata["class-name"])
    annotations = line[f"{context.dataset}_BB"]["annotations"]
    if not annotations:
        return None
    top_id, _ = Counter(item["class_id"] for item in annotations).most_common(1)[0]
    return str(metadata["class-map"][str(top_id)])


def to_json_line(line: dict[str, Any]) -> str:
    """Serialise a manifest line: one compact JSON object, no trailing newline."""
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)
