"""One local cloud for the system-level hardening tests (deploying the stack and cold-starting the
workers is the expensive part), with the SQS queues' visibility timeouts cut to a few seconds so
redelivery and dead-lettering happen within a test rather than in minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.cloud import LocalCloud

ROOT = Path(__file__).resolve().parents[2]
# Short enough for maxReceiveCount (5) receives in ~15 s; long enough for a batch to finish.
TEST_VISIBILITY_TIMEOUT_S = 3
CONSUMER_QUEUES = ("CostUsageQueue", "ReviewTriggerQueue", "ReviewStatusQueue")


@pytest.fixture(scope="package")
def cloud(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("hardening-logs")
    with LocalCloud(ROOT / "template.yaml", log_dir=log_dir) as running:
        sqs = running.client("sqs")
        for logical_id in CONSUMER_QUEUES:
            sqs.set_queue_attributes(QueueUrl=running.physical_id(logical_id),
                                     Attributes={"VisibilityTimeout": str(TEST_VISIBILITY_TIMEOUT_S)})
        yield running
