"""No PII anywhere but the raw bucket (issue 8, security 4): records with known PII go through the
whole system — healthy, then with Comprehend failing — and every log line of every function (which
holds the EMF metrics too), every event put on the bus, every message in any queue, the redacted
bucket and the local cloud's own log records are scanned for the PII values: none may be found."""

from __future__ import annotations

import json
import logging

import pytest

from tests.hardening.faults import BusTap
from tests.hardening.test_faults_comprehend import GOLDEN, GOLDEN_PII, HEALTHY, _post, _run

pytestmark = pytest.mark.system

# The record's PII values as Comprehend's published result lists them, and forms a log could take.
NEEDLES = sorted({*GOLDEN_PII, "Van Bokhorst", "Koontz Lane", "8188286231", "548956370"})


def _scan(text: str, where: str) -> None:
    found = [needle for needle in NEEDLES if needle in text]
    assert not found, f"PII {found} found in {where}"


def test_known_pii_appears_nowhere_outside_the_raw_bucket(cloud, caplog):
    caplog.set_level(logging.DEBUG)
    tap = BusTap(cloud, "hardening-pii-scan")
    golden = (json.dumps(dict(GOLDEN["record"], event_id="pii-scan")) + "\n").encode()
    emulator = cloud.endpoint("comprehend")
    out, raw, _ = _run(cloud, [golden])
    assert len(out) == 1 and len(raw) == 1
    assert any(needle.encode() in raw[0] for needle in NEEDLES), "the raw backup must hold the source record"
    _scan(json.dumps(out), "the redacted bucket")
    _post(emulator + "/_emulator/config", {**HEALTHY, "error_rate": 1.0, "error_code": "InternalServerException"})
    try:
        out, _, errors = _run(cloud, [golden, b"{not json " + golden])
    finally:
        _post(emulator + "/_emulator/config", HEALTHY)
    _scan(json.dumps(out), "the redacted bucket under faults")

    events = tap.drain()
    assert any(e["detail-type"] == "PiiRedactionReport" for e in events)
    _scan(json.dumps(events), "events on the bus")
    tap.close()

    logs = sorted(cloud.log_dir.glob("*.log"))
    assert any(path.name.startswith("PiiRedactionFunction") for path in logs)
    for path in logs:
        _scan(path.read_text(errors="replace"), f"log {path.name}")

    sqs = cloud.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            _scan(message["Body"], f"queue {url.rsplit('/', 1)[-1]}")
    _scan("\n".join(record.getMessage() for record in caplog.records), "the local cloud's own log records")
