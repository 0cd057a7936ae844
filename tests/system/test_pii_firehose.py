"""PII redaction end to end through the local cloud: records put on the emulated Firehose stream are
screened by PiiRedactionFunction (in its worker, against the Comprehend emulator) and land in S3:
redacted in the destination bucket, raw in the backup bucket; under Comprehend faults nothing raw
reaches the redacted prefix."""

from __future__ import annotations

import base64
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from local.cloud import LocalCloud
from ml.pii_eval.stream import record_bytes, records
from pitwall_shared.jsonlines import loads_lines, split_lines

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "events" / "pii_redaction" / "golden_record.json").read_text())
STREAM = "pitwall-PiiDeliveryStream"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with LocalCloud(ROOT / "template.yaml", log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310 - loopback emulator
        return json.loads(response.read())


def _objects(cloud, bucket: str, prefix: str) -> list[bytes]:
    s3 = cloud.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed]


def _clear(cloud, *buckets: str) -> None:
    s3 = cloud.client("s3")
    for bucket in buckets:
        for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=o["Key"])


def _send(cloud, payloads: list[bytes]) -> None:
    firehose = cloud.client("firehose")
    for start in range(0, len(payloads), 200):
        firehose.put_record_batch(DeliveryStreamName=STREAM,
                                  Records=[{"Data": p} for p in payloads[start:start + 200]])
    _post(cloud.endpoint("firehose") + "/_emulator/flush", {"DeliveryStreamName": STREAM})


@pytest.fixture
def buckets(cloud):
    redacted, raw = cloud.physical_id("PiiRedactedBucket"), cloud.physical_id("PiiRawBucket")
    _clear(cloud, redacted, raw)
    yield redacted, raw
    _post(cloud.endpoint("comprehend") + "/_emulator/config", {"error_rate": 0.0, "rps_quota": None})


def test_golden_record_end_to_end_and_idempotent(cloud, buckets):
    redacted, raw = buckets
    golden = (json.dumps(GOLDEN["record"]) + "\n").encode()
    _send(cloud, [golden, golden])
    [body] = _objects(cloud, redacted, "redacted/")
    first, second = split_lines(body)
    assert json.loads(first) == GOLDEN["expected"] and first == second
    assert _objects(cloud, raw, "raw/") == [golden + golden]
    assert _objects(cloud, redacted, "errors/") == []


def test_bad_records_go_to_the_error_prefix_alone(cloud, buckets):
    redacted, _ = buckets
    good = {"Tweet1": "mail ann@example.org", "Tweet2": ""}
    _send(cloud, [b"Tweet1=ann@example.org\n", b'{"Tweet1": "\xff"}\n', (json.dumps(good) + "\n").encode()])
    [body] = _objects(cloud, redacted, "redacted/")
    assert json.loads(body) == {"Tweet1": "mail ***************", "Tweet2": ""}
    [errors] = _objects(cloud, redacted, "errors/processing-failed/")
    docs = loads_lines(errors)
    assert sorted(base64.b64decode(d["rawData"]) for d in docs) == [b"Tweet1=ann@example.org\n", b'{"Tweet1": "\xff"}\n']
    assert {d["errorCode"] for d in docs} == {"Lambda.ProcessingFailedStatus"}


@pytest.mark.parametrize("code", ["InternalServerException", "ThrottlingException"])
def test_comprehend_faults_never_leak_raw_pii(cloud, buckets, code):
    redacted, _ = buckets
    _post(cloud.endpoint("comprehend") + "/_emulator/config", {"error_rate": 1.0, "error_code": code})
    stream = list(records(30, seed=5))
    _send(cloud, [(json.dumps(GOLDEN["record"]) + "\n").encode()] + [record_bytes(r) for r in stream])
    lines = [line for body in _objects(cloud, redacted, "redacted/") for line in loads_lines(body)]
    assert len(lines) == 31
    assert all(line["_pii_redaction"] == "uninspected-fields-masked" for line in lines)
    text = b"".join(_objects(cloud, redacted, "redacted/")).decode()
    for value in (GOLDEN["record"]["Tweet1"], GOLDEN["record"]["Tweet2"], *(r["Tweet1"] for r in stream)):
        assert value not in text
    assert "548-95-6370" not in text and "SerdarvanBokhorst" not in text
