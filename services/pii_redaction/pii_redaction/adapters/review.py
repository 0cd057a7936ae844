"""Handing uncertain entities to human review: each candidate's task object written to the raw-PII
bucket (`pii-review/`, under that bucket's encryption) and its `PiiReviewCandidate` event put on the
bus. Both calls are retried (botocore's standard retries for S3, the publisher's own for
EventBridge); a candidate still not done is reported unsaved, and screening then fails its record
closed per PII_FAILURE_POLICY, so no review is lost silently (the raw backup keeps the source).

The event carries only ids, offsets, types and scores; the text lives in the task object alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pii_redaction.logic.review import ReviewCandidate
from pitwall_shared.events import Event
from pitwall_shared.publisher import EventPublisher, PublishError

DETAIL_TYPE = "PiiReviewCandidate"
# Task objects written at once (S3 takes thousands of PUTs a second per prefix).
PUT_CONCURRENCY = 8


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ReviewTasks:
    """The `ReviewSink` of one invocation."""

    def __init__(self, s3: Any, bucket: str, publisher: EventPublisher, *, correlation_id: str,
                 logger: Any = None, clock: Callable[[], str] = _now) -> None:
        self.s3, self.bucket, self.publisher = s3, bucket, publisher
        self.correlation_id, self.logger, self.clock = correlation_id, logger, clock

    def submit(self, candidates: Sequence[ReviewCandidate]) -> list[bool]:
        with ThreadPoolExecutor(max_workers=min(PUT_CONCURRENCY, len(candidates) or 1)) as pool:
            saved = list(pool.map(self._put, candidates))
        detected_at = self.clock()
        events = {f"pii-review:{c.key}": Event(DETAIL_TYPE, c.event_data(bucket=self.bucket, detected_at=detected_at),
                                              event_id=f"pii-review:{c.key}", correlation_id=self.correlation_id)
                  for c, ok in zip(candidates, saved, strict=True) if ok}
        unpublished: set[str] = set()
        if events:
            try:
                self.publisher.publish_many(list(events.values()))
            except PublishError as error:
                unpublished = {event_id for event_id, _ in error.failed}
                self._warn("review events not published", error)
            except Exception as error:  # noqa: BLE001 - any failure: the records fail closed, the batch goes on
                unpublished = set(events)
                self._warn("review events not published", error)
        return [ok and f"pii-review:{c.key}" not in unpublished for c, ok in zip(candidates, saved, strict=True)]

    def _put(self, candidate: ReviewCandidate) -> bool:
        body = json.dumps(candidate.task_object(), ensure_ascii=False, separators=(",", ":")).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=candidate.key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as error:
            self._warn("review task object not written", error)
            return False
        return True

    def _warn(self, message: str, error: Exception) -> None:
        # The error type only: a botocore message could quote a key, never the text, but stay sparse.
        if self.logger is not None:
            self.logger.warning(message, extra={"error_type": type(error).__name__})
