"""Comprehend throttling storms, 5xx errors and timeouts during a Firehose stream (issue 8, faults 1).

The same records go through twice: once with Comprehend healthy (the reference), once under the
fault. Every record must come out exactly once, and each either identical to its reference
(redacted correctly after retries) or held back by the failure policy (`mask-all`: every inspected
field masked whole, with the marker); no raw PII value may reach the redacted bucket, and the raw
backup holds every source record.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ml.pii_eval.stream import record_bytes, records
from pitwall_shared.jsonlines import split_lines

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "events" / "pii_redaction" / "golden_record.json").read_text())
STREAM = "pitwall-PiiDeliveryStream"
FIELDS = ("Tweet1", "Tweet2")
# Values of the golden record that are PII (Comprehend's published result for it).
GOLDEN_PII = ("Van Bokhorst Serdar", "SerdarvanBokhorst@dayrep.com", "2657 Koontz Lane", "818-828-6231",
              "548-95-6370", "940517528812", "195991012", "5534816011668430")
HEALTHY = {"error_rate": 0.0, "rps_quota": None, "slow_rate": 0.0, "slow_ms": 0.0, "latency_ms": 0.0}
FAULTS = {
    # A quota far below the batch's request rate: most calls answered ThrottlingException.
    "throttling-storm": {"rps_quota": 2, "seed": 1},
    "5xx": {"error_rate": 0.5, "error_code": "InternalServerException", "seed": 2},
    # Slower than the function's 5 s read timeout: the client times out and retries.
    "timeouts": {"slow_rate": 0.35, "slow_ms": 6_000, "seed": 3},
}


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - loopback emulator
        return json.loads(response.read())


def _stats(emulator: str) -> dict[str, Any]:
    with urllib.request.urlopen(emulator + "/_emulator/stats", timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def _lines(cloud, bucket: str, prefix: str) -> list[bytes]:
    s3 = cloud.client("s3")
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out += split_lines(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    return out


def _run(cloud, payloads: list[bytes]) -> tuple[list[dict], list[bytes], list[bytes]]:
    """Put `payloads` on the stream, flush, and take (redacted, raw backup, errors) out of S3."""
    firehose = cloud.client("firehose")
    for start in range(0, len(payloads), 100):
        firehose.put_record_batch(DeliveryStreamName=STREAM, Records=[{"Data": p} for p in payloads[start:start + 100]])
    _post(cloud.endpoint("firehose") + "/_emulator/flush", {"DeliveryStreamName": STREAM})
    redacted, raw = cloud.physical_id("PiiRedactedBucket"), cloud.physical_id("PiiRawBucket")
    return ([json.loads(line) for line in _lines(cloud, redacted, "redacted/")], _lines(cloud, raw, "raw/"),
            _lines(cloud, redacted, "errors/"))


@pytest.fixture(scope="module")
def stream(cloud):
    """The records, and their redaction with Comprehend healthy (the reference)."""
    sources = [dict(GOLDEN["record"], event_id="golden")] + list(records(40, seed=41))
    _post(cloud.endpoint("comprehend") + "/_emulator/config", HEALTHY)
    reference, raw, errors = _run(cloud, [record_bytes(r) for r in sources])
    assert len(reference) == len(sources) and not errors
    return sources, {line["event_id"]: line for line in reference}


@pytest.mark.parametrize("fault", FAULTS)
def test_comprehend_fault_during_stream_loses_nothing_and_leaks_nothing(cloud, stream, fault):
    sources, reference = stream
    emulator = cloud.endpoint("comprehend")
    _post(emulator + "/_emulator/config", {**HEALTHY, **FAULTS[fault]})
    try:
        before = _stats(emulator)
        out, raw, errors = _run(cloud, [record_bytes(r) for r in sources])
        after = _stats(emulator)
    finally:
        _post(emulator + "/_emulator/config", HEALTHY)

    assert sorted(line["event_id"] for line in out) == sorted(r["event_id"] for r in sources), "lost or doubled"
    assert len(raw) == len(sources) and errors == []
    by_id = {r["event_id"]: r for r in sources}
    held_back = 0
    for line in out:
        if line.get("_pii_redaction") == "uninspected-fields-masked":
            held_back += 1
            source = by_id[line["event_id"]]
            for name in FIELDS:
                assert set(line[name]) <= {"*"} and len(line[name]) == len(source[name]), name
        else:
            assert line == reference[line["event_id"]]
    text = json.dumps(out)
    for value in GOLDEN_PII:
        assert value not in text
    for source in sources:
        if source.get("has_pii"):
            for name in FIELDS:
                if reference[source["event_id"]][name] != source[name]:
                    assert source[name] not in text
    if fault == "timeouts":
        assert held_back < len(sources), "timeouts are retried: most records still come out redacted"
    # The fault happened during this run (counted by the emulator, this run only).
    if fault == "timeouts":
        assert after["slow"] - before["slow"] > 0, "no call was held past the client's read timeout"
        calls = sum(after["calls"].values()) - sum(before["calls"].values())
        assert calls > after["slow"] - before["slow"], "timed-out calls were not retried"
    else:
        expected = {"throttling-storm": "ThrottlingException", "5xx": "InternalServerException"}[fault]
        assert after["errors"].get(expected, 0) - before["errors"].get(expected, 0) > 0, f"no {expected} answered"
