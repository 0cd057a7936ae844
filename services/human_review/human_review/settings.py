"""Configuration of the human-review functions, read once from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from pitwall_shared.settings import ServiceSettings

DEFAULT_POLICIES_FILE = Path(__file__).with_name("review_policies.json")


class Settings(ServiceSettings):
    """`LOOPS_TABLE_NAME`, `STATE_TABLE_NAME`, `REVIEW_BUCKET_NAME`, `EVENT_BUS_NAME`, ...

    `REVIEW_POLICIES` (JSON list) replaces the packaged `review_policies.json` when set.
    """

    loops_table_name: str = Field(min_length=1)
    state_table_name: str = Field(min_length=1)
    review_bucket_name: str = Field(min_length=3)
    event_bus_name: str = Field(min_length=1)
    default_flow_definition_arn: str = Field(
        pattern=r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/.+")
    review_policies: str | None = None
    # Where a candidate over the per-minute ceiling is put back (the trigger queue itself, with a
    # delay to the next minute). Unset: the message fails and SQS redelivers it after its
    # visibility timeout (then it may reach the DLQ after maxReceiveCount).
    trigger_queue_url: str | None = None
    max_defer_delay_s: int = Field(default=60, ge=0, le=900)  # SQS DelaySeconds max is 900 (SQS API reference)
    # Issue 16 item 6: comma-separated; a ReviewCandidate from another source, or naming a task object in
    # another bucket, is refused (template.yaml ReviewCandidateSources, ReviewTaskObjectBuckets). Empty: all refused.
    review_candidate_sources: str = ""
    task_object_buckets: str = ""
    # The raw-PII bucket (pii_redaction's): PII review task objects (pii-review/) are read from it
    # and their manifest parts (the text is the training document) written to it, never elsewhere.
    # Unset: a PiiReviewCandidate is refused (fails closed).
    pii_review_bucket_name: str | None = Field(default=None, min_length=3)

    def policies_json(self) -> str:
        return self.review_policies or DEFAULT_POLICIES_FILE.read_text()
