"""Pydantic models of what human review reads, stores and publishes.

Inputs (inside the shared envelope, `pitwall_shared.events`): prediction events and `ReviewCandidate`, the A2I status-change
event and A2I's `output.json`. Internal: the normalised `ReviewSubject` every policy decides on, and
the loop record kept in DynamoDB.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_INPUT_CONTENT_CHARS = 3_145_728  # StartHumanLoop HumanLoopInput.InputContent max (A2I API reference)


class TaskType(StrEnum):
    """What the reviewer is asked to do, which also fixes the manifest line's shape."""

    OBJECT_DETECTION = "object-detection"
    CLASSIFICATION = "classification"
    TEXT_SPANS = "text-spans"  # is each span an entity, and of which type (Ground Truth "text-span")


class LoopStatus(StrEnum):
    """Status of a loop in the loops table: A2I's statuses plus the two this service adds."""

    PENDING = "Pending"  # recorded, StartHumanLoop not yet confirmed
    SKIPPED = "Skipped"  # the per-minute ceiling refused it; kept so nothing vanishes silently
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPED = "Stopped"


TERMINAL_STATUSES = frozenset({LoopStatus.COMPLETED, LoopStatus.FAILED, LoopStatus.STOPPED})


class BoundingBox(BaseModel):
    """A box as fractions of the image (Rekognition's `Geometry.BoundingBox` convention)."""

    model_config = ConfigDict(extra="forbid")

    left: float = Field(ge=0, le=1)
    top: float = Field(ge=0, le=1)
    width: float = Field(gt=0, le=1)
    height: float = Field(gt=0, le=1)


class PredictedLabel(BaseModel):
    """One label a model predicted, with its score on the candidate's scale."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=128)
    score: float = Field(ge=0)
    bounding_box: BoundingBox | None = None


class ReviewCandidateData(BaseModel):
    """`data` of a `ReviewCandidate` event: anything a producer wants a person to check."""

    model_config = ConfigDict(extra="forbid")

    review_policy: str = Field(min_length=1, max_length=64)
    model_id: str = Field(min_length=1, max_length=128)
    task_type: TaskType
    task_object_s3_uri: str | None = Field(default=None, pattern=r"^s3://[a-z0-9.\-]{3,63}/.+")
    task_text: str | None = Field(default=None, min_length=1)
    labels: list[PredictedLabel] = Field(default_factory=list, max_length=100)
    score_scale: Literal[1, 100] = 1
    pii_redacted: bool = False

    @model_validator(mode="after")
    def _one_task_object(self) -> ReviewCandidateData:
        if (self.task_object_s3_uri is None) == (self.task_text is None):
            raise ValueError("exactly one of task_object_s3_uri and task_text must be given")
        if self.task_type is TaskType.OBJECT_DETECTION and self.task_object_s3_uri is None:
            raise ValueError("task_object_s3_uri: object detection needs an image in S3")
        for label in self.labels:
            if label.score > self.score_scale:
                raise ValueError("labels: a score is above score_scale")
        return self


class CandidateSpan(BaseModel):
    """One entity pii_redaction was unsure of: code-point offsets (end exclusive), type, score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    begin_offset: int = Field(ge=0)
    end_offset: int = Field(ge=1)
    type: str = Field(pattern=r"^[A-Z][A-Z_]*$", max_length=64)
    score: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> CandidateSpan:
        if self.end_offset <= self.begin_offset:
            raise ValueError("end_offset must be after begin_offset")
        return self


PII_TASK_OBJECT_PATTERN = r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/pii-review/.+\.json$"


class PiiReviewCandidateData(BaseModel):
    """`data` of `PiiReviewCandidate` (events/schemas/PiiReviewCandidate.v1.json): offsets, types,
    scores and the task object's URI in the raw-PII bucket; never the text."""

    model_config = ConfigDict(extra="forbid")

    record_id: str = Field(min_length=1, max_length=512)
    field: str = Field(min_length=1, max_length=256)
    task_object: str = Field(pattern=PII_TASK_OBJECT_PATTERN, max_length=1024)
    spans: list[CandidateSpan] = Field(min_length=1, max_length=100)
    detected_at: datetime


class ReviewSubject(BaseModel):
    """A prediction normalised so that one policy decision fits every producer."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    correlation_id: str
    source: str
    detail_type: str
    model_id: str
    task_type: TaskType
    labels: tuple[PredictedLabel, ...]
    score_scale: float
    task_object_s3_uri: str | None = None
    task_text: str | None = None
    # The prediction's own payload, kept for this system's predictions so the reviewer sees context.
    prediction: dict[str, Any] | None = None
    pii_redacted: bool = False
    spans: tuple[CandidateSpan, ...] = ()  # text-spans tasks: what the reviewer judges

    @property
    def top_label(self) -> PredictedLabel | None:
        return max(self.labels, key=lambda item: item.score) if self.labels else None


class ReviewReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    NO_LABEL = "no_label"
    AUDIT_SAMPLE = "audit_sample"
    DRIFT_SAMPLE = "drift_sample"


class ReviewDecision(BaseModel):
    model_config = ConfigDict(frozen=True)

    review: bool
    reason: ReviewReason | None = None
    normalised_score: float | None = None


class LoopRecord(BaseModel):
    """One item of the loops table (partition key `human_loop_name`, index on `status`)."""

    human_loop_name: str
    status: LoopStatus
    source_event_id: str
    correlation_id: str
    source: str
    detail_type: str
    policy: str
    model_id: str
    task_type: TaskType
    dataset: str
    reason: ReviewReason
    flow_definition_arn: str
    task_object_s3_uri: str | None = None
    predicted_label: str | None = None
    created_at: str
    updated_at: str
    human_loop_arn: str | None = None
    output_s3_uri: str | None = None
    manifest_part_s3_uri: str | None = None
    corrected_label: str | None = None
    failure_reason: str | None = None
    failure_code: str | None = None
    requested_published: bool = False
    completed_published: bool = False
    ground_truth_label: str | None = None  # the world answered first: a human answer writes no part


class HumanLoopStatusChange(BaseModel):
    """`detail` of A2I's `SageMaker A2I HumanLoop Status Change` event (camelCase as A2I sends it)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    human_loop_name: str = Field(alias="humanLoopName")
    human_loop_arn: str = Field(alias="humanLoopArn")
    human_loop_status: Literal["Completed", "Failed", "Stopped"] = Field(alias="humanLoopStatus")
    flow_definition_arn: str = Field(alias="flowDefinitionArn")
    creation_time: datetime | None = Field(default=None, alias="creationTime")
    failure_code: str | None = Field(default=None, alias="failureCode")
    failure_reason: str | None = Field(default=None, alias="failureReason")
    output_s3_uri: str | None = Field(default=None, alias="humanLoopOutput")

    @field_validator("output_s3_uri", mode="before")
    @classmethod
    def _unwrap_output(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value.get("outputS3Uri")
        return value


class HumanAnswer(BaseModel):
    """One worker's answer in A2I's `output.json`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    answer_content: dict[str, Any] = Field(alias="answerContent")
    submission_time: datetime = Field(alias="submissionTime")
    worker_id: str | None = Field(default=None, alias="workerId")


class A2IOutput(BaseModel):
    """A2I's `output.json` for a custom task type."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    flow_definition_arn: str = Field(alias="flowDefinitionArn")
    human_answers: list[HumanAnswer] = Field(alias="humanAnswers", min_length=1)
    human_loop_name: str = Field(alias="humanLoopName")
    input_content: dict[str, Any] = Field(alias="inputContent")
