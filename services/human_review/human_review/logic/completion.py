"""From A2I's status-change event to a manifest part and `HumanReviewCompleted`.

`Completed`: read `output.json`, convert it to one augmented-manifest line, write it as the loop's
part object. `Failed` / `Stopped`: record why. Every terminal status is published. A redelivered
event finds the record terminal and published, and does nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from human_review.logic.manifests import ManifestContext, corrected_label, manifest_line, to_json_line
from human_review.logic.pii_spans import PiiTaskObject, pii_part_uri, settled_label, text_span_line
from human_review.logic.policies import REVIEW_CANDIDATE, PolicyBook
from human_review.logic.ports import CompletionPorts
from human_review.models import (
    TERMINAL_STATUSES,
    A2IOutput,
    HumanLoopStatusChange,
    LoopRecord,
    LoopStatus,
    TaskType,
)
from pitwall_shared.jsonlines import join_lines

STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"


class CompletionOutcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    UNKNOWN_LOOP = "unknown_loop"


def part_uri(bucket: str, record: LoopRecord) -> str:
    """Where the loop's manifest part goes: one object per loop, grouped by dataset."""
    return f"s3://{bucket}/manifests/parts/{record.dataset}/{record.human_loop_name}.jsonl"


def manifest_context(record: LoopRecord, book: PolicyBook) -> ManifestContext:
    policy = next((p for p in book.policies if p.name == record.policy), None)
    return ManifestContext(
        human_loop_name=record.human_loop_name, dataset=record.dataset, task_type=record.task_type,
        source_ref=record.task_object_s3_uri, classes=policy.classes if policy else (),
        # A producer's stored object is an image; this system's predictions are JSON documents.
        image=record.detail_type == REVIEW_CANDIDATE and record.task_type is TaskType.CLASSIFICATION
        and not (record.task_object_s3_uri or "").endswith((".txt", ".json")),
    )


def _write_pii_part(record: LoopRecord, context: ManifestContext, output: A2IOutput,
                    ports: CompletionPorts) -> tuple[str, str]:
    """PII review: read the text from the task object, write the Comprehend line beside it (raw-PII
    bucket, under its key); the line holds the text, so it never goes to the review bucket."""
    bucket = ports.pii_review_bucket
    if bucket is None or not (record.task_object_s3_uri or "").startswith(f"s3://{bucket}/pii-review/"):
        raise ValueError("loop record: a PII review task object must be under pii-review/ in the raw-PII bucket")
    task = PiiTaskObject.model_validate(ports.storage.get_json(str(record.task_object_s3_uri)))
    line = text_span_line(context, output, task)
    uri = pii_part_uri(bucket, record.dataset, record.human_loop_name)
    ports.storage.put_text(uri, join_lines([to_json_line(line)]))  # the bucket's default key applies
    return uri, settled_label(line, record.dataset)


def handle_status_change(change: HumanLoopStatusChange, book: PolicyBook, ports: CompletionPorts) -> CompletionOutcome:
    """Record a loop's terminal status, write its manifest part, publish `HumanReviewCompleted`."""
    record = ports.loops.get(change.human_loop_name)
    if record is None:
        return CompletionOutcome.UNKNOWN_LOOP  # another application's loop in this account
    if record.status in TERMINAL_STATUSES and record.completed_published:
        return CompletionOutcome.DUPLICATE
    status = LoopStatus(change.human_loop_status)
    now = ports.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    fields: dict[str, Any] = {"status": status.value, "updated_at": now, "human_loop_arn": change.human_loop_arn}
    if status is LoopStatus.COMPLETED:
        if not change.output_s3_uri:
            raise ValueError("humanLoopOutput.outputS3Uri: missing on a Completed loop")
        output = A2IOutput.model_validate(ports.storage.get_json(change.output_s3_uri))
        context = manifest_context(record, book)
        label: str | None
        if record.task_type is TaskType.TEXT_SPANS:
            uri, label = _write_pii_part(record, context, output, ports)
        else:
            line = manifest_line(context, output)
            uri, label = part_uri(ports.bucket, record), corrected_label(line, context)
            if record.ground_truth_label is None:  # the world's answer, once known, is the line (issue 19)
                ports.storage.put_text(uri, join_lines([to_json_line(line)]))
        fields |= {"output_s3_uri": change.output_s3_uri, "manifest_part_s3_uri": uri, "corrected_label": label}
    else:
        fields |= {"failure_code": change.failure_code or status.value,
                   "failure_reason": (change.failure_reason or "")[:1024] or None}
    ports.loops.update(record.human_loop_name, {key: value for key, value in fields.items() if value is not None})
    record = record.model_copy(update={**fields, "status": status})
    data = {
        "human_loop_name": record.human_loop_name, "status": status.value, "policy": record.policy,
        "source_event_id": record.source_event_id, "model_id": record.model_id,
        "task_type": record.task_type.value, "dataset": record.dataset,
        "predicted_label": record.predicted_label, "corrected_label": record.corrected_label,
        "label_changed": (record.corrected_label != record.predicted_label)
        if status is LoopStatus.COMPLETED and record.corrected_label is not None else None,
        "manifest_part_s3_uri": record.manifest_part_s3_uri,
        "failure_code": record.failure_code if status is not LoopStatus.COMPLETED else None,
    }
    ports.publisher.publish("HumanReviewCompleted", data, event_id=f"{record.human_loop_name}:{status.value}",
                            correlation_id=record.correlation_id)
    ports.loops.update(record.human_loop_name, {"completed_published": True})
    return CompletionOutcome.RECORDED
