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


def test_pii_review_holds_no_text_outside_the_raw_bucket(cloud):
    """Uncertain PII (issue 19): a PiiReviewCandidate for the golden text starts a loop and is
    answered through the reviewer page's API; the text is in the raw-PII bucket only (task object and
    the Comprehend manifest part), never in an event, a queue, the loop's input, the loops table, the
    review bucket (A2I's output.json included) or a log."""
    import urllib.request

    from tests.hardening.faults import emulator_app
    from tests.polling import wait_for

    text = GOLDEN["record"]["Tweet1"]
    spans = [{"begin_offset": text.index(value), "end_offset": text.index(value) + len(value), "type": "NAME",
              "score": 0.6} for value in GOLDEN_PII if value in text][:3]
    assert spans, "the golden Tweet1 holds a PII value to review"
    raw = cloud.physical_id("PiiRawBucket")
    s3 = cloud.client("s3")
    s3.put_object(Bucket=raw, Key="pii-review/scan.json", Body=json.dumps(
        {"text": text, "spans": spans, "field": "Tweet1", "record_id": "scan"}).encode())
    tap = BusTap(cloud, "hardening-pii-review-scan")
    detail = {"event_id": "pii-review-scan", "correlation_id": "pii-review-scan", "schema_version": "1",
              "occurred_at": "2026-12-04T21:00:00.000Z",
              "data": {"record_id": "scan", "field": "Tweet1", "task_object": f"s3://{raw}/pii-review/scan.json",
                       "spans": spans, "detected_at": "2026-12-04T21:00:00Z"}}
    cloud.client("events").put_events(Entries=[{"Source": "pitwall.pii_redaction", "DetailType": "PiiReviewCandidate",
                                                "Detail": json.dumps(detail), "EventBusName": cloud.physical_id("PitwallBus")}])
    a2i = emulator_app(cloud, "a2i")
    name = wait_for(lambda: next((n for n, loop in a2i.loops.items() if "pii-review/scan.json" in loop.input_content
                                  and loop.status == "InProgress"), None), timeout_s=60, what="the PII review loop")
    _scan(a2i.loops[name].input_content, "the loop's InputContent")
    answer = [{"beginOffset": s["begin_offset"], "endOffset": s["end_offset"], "label": "NAME"} for s in spans]
    request = urllib.request.Request(f"{cloud.emulators['a2i'].url}/review/api/loops/{name}/answer", method="POST",
                                     headers={"Content-Type": "application/json"},
                                     data=json.dumps({"answerContent": {"piiSpans": answer}}).encode())
    urllib.request.urlopen(request, timeout=10).read()  # noqa: S310 - the emulator's local URL
    part = f"pii-review/manifests/parts/pii-entities/{name}.jsonl"

    def written():
        try:
            return s3.get_object(Bucket=raw, Key=part)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            return None

    assert json.loads(wait_for(written, timeout_s=60, what="the PII manifest part"))["source"] == text
    cloud.wait_until_drained()

    events = tap.drain()
    assert {"PiiReviewCandidate", "HumanReviewRequested", "HumanReviewCompleted"} <= {e["detail-type"] for e in events}
    _scan(json.dumps(events), "events on the bus")
    tap.close()
    items = cloud.client("dynamodb").scan(TableName=cloud.physical_id("ReviewLoopsTable"))["Items"]
    _scan(json.dumps(items), "the loops table")
    review = cloud.physical_id("ReviewManifestsBucket")
    for item in s3.list_objects_v2(Bucket=review).get("Contents", []):
        _scan(s3.get_object(Bucket=review, Key=item["Key"])["Body"].read().decode(errors="replace"),
              f"s3://review bucket/{item['Key']}")
    sqs = cloud.client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            _scan(message["Body"], f"queue {url.rsplit('/', 1)[-1]}")
    for path in sorted(cloud.log_dir.glob("*.log")):
        _scan(path.read_text(errors="replace"), f"log {path.name}")
