"""PII demo: the golden record and a generated stream go through the emulated Firehose delivery
stream (processor: PiiRedactionFunction, Comprehend emulator behind it), and what landed in S3 is
read back: the redacted golden record, and the stream's counts per bucket and prefix."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from ml.pii_eval.stream import record_bytes, records
from pitwall_shared.jsonlines import loads_lines

GOLDEN_PATH = "events/pii_redaction/golden_record.json"
STREAM_RECORDS = 200


def _stream_name(firehose: Any) -> str:
    names = firehose.list_delivery_streams()["DeliveryStreamNames"]
    return next(name for name in names if "PiiDeliveryStream" in name or "pii" in name.lower())


def _objects(s3: Any, bucket: str, prefix: str) -> list[bytes]:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    return [s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in sorted(keys)]


def _flush(cloud: Any, stream: str) -> None:
    request = urllib.request.Request(cloud.endpoint("firehose") + "/_emulator/flush", method="POST",  # noqa: S310 - loopback emulator
                                     data=json.dumps({"DeliveryStreamName": stream}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback emulator
        response.read()


def run_demo(cloud: Any, options: Any = None) -> dict[str, Any]:
    """Put the golden record and a generated stream on Firehose; report what S3 holds afterwards."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    golden = json.loads((root / GOLDEN_PATH).read_text())
    firehose, s3 = cloud.client("firehose"), cloud.client("s3")
    stream = _stream_name(firehose)
    redacted_bucket = cloud.physical_id("PiiRedactedBucket")
    raw_bucket = cloud.physical_id("PiiRawBucket")
    started = time.monotonic()

    generated = list(records(STREAM_RECORDS, seed=11))
    progress = getattr(options, "progress", None)
    bar = progress.stream("PII records → Firehose → S3", total=1 + len(generated)) if progress else None
    firehose.put_record(DeliveryStreamName=stream, Record={"Data": (json.dumps(golden["record"]) + "\n").encode()})
    for start in range(0, len(generated), 100):
        chunk = generated[start:start + 100]
        firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": record_bytes(r)} for r in chunk])
        if bar:
            bar.sent(len(chunk) + (1 if start == 0 else 0))
    # Deliver now rather than wait out the buffering interval, as a test would.
    _flush(cloud, stream)

    redacted = [line for body in _objects(s3, redacted_bucket, "redacted/") for line in loads_lines(body.decode())]
    raw_lines = sum(body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
                    for body in _objects(s3, raw_bucket, "raw/"))
    errors = [line for body in _objects(s3, redacted_bucket, "errors/") for line in loads_lines(body.decode())]
    if bar:
        bar.processed(len(redacted))
    golden_out = next((r for r in redacted if r.get("User") == golden["record"]["User"]), None)
    stream_out = [r for r in redacted if "has_pii" in r]
    masked = sum(1 for r in stream_out if "*" in str(r.get("Tweet1", "")) + str(r.get("Tweet2", "")))
    return {
        # Keys the `make run` summary reads (local/__main__.py).
        "records_sent": 1 + len(generated),
        "redacted_records": len(redacted),
        "redacted_records_with_masks": masked + (1 if golden_out else 0),
        "error_records": len(errors),
        "golden_matches_issue": golden_out == golden["expected"],
        "delivery_stream": stream,
        "golden_Tweet1_from_s3": (golden_out or {}).get("Tweet1"),
        "golden_Tweet2_from_s3": (golden_out or {}).get("Tweet2"),
        "stream_records_with_pii_sent": sum(1 for r in generated if r["has_pii"]),
        "stream_pii_records_left_unmasked": sum(1 for r in stream_out if r["has_pii"] and
                                                "*" not in str(r.get("Tweet1", "")) + str(r.get("Tweet2", ""))),
        "raw_backup_records": raw_lines,
        "seconds": round(time.monotonic() - started, 2),
    }
