"""pii_redaction's real handler against moto (EventBridge → capture queue) and the Comprehend emulator
served on a local port: the golden record, bad records, fail-closed under faults, events and their
schemas, and a bus that cannot be reached."""

from __future__ import annotations

import base64
import copy
import importlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.serving import make_server

from local.emulators.comprehend import ComprehendEmulator, make_app
from tests.contracts import assert_valid_event

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "pii_redaction"
GOLDEN = json.loads((EVENTS / "golden_record.json").read_text())
REGION = "us-east-1"
BUS = "pitwall-pii-test"


@dataclass
class LambdaContext:
    remaining_ms: int = 300_000
    function_name: str = "pii-redaction-test"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pii-redaction-test"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture(scope="module")
def comprehend() -> Iterator[tuple[ComprehendEmulator, str]]:
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@dataclass
class Env:
    handler: Any
    queue_url: str
    emulator: ComprehendEmulator

    def published(self) -> dict[str, list[dict[str, Any]]]:
        sqs = boto3.client("sqs", region_name=REGION)
        found: dict[str, list[dict[str, Any]]] = {}
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                found.setdefault(event["detail-type"], []).append(event["detail"])
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def env(monkeypatch, comprehend) -> Iterator[Any]:
    emulator, url = comprehend
    emulator.configure(latency_ms=0, rps_quota=None, error_rate=0.0, slow_rate=0.0)

    def build(**variables: str) -> Env:
        settings = {"PII_FIELDS": GOLDEN["fields"], "EVENT_BUS_NAME": BUS, "PII_MAX_ATTEMPTS": "3",
                    **variables}
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        from pitwall_shared import aws

        aws.client.cache_clear()
        import pii_redaction.factory as factory
        import pii_redaction.handlers as handlers

        factory.reset()
        return Env(importlib.reload(handlers), queue_url, emulator)

    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHEND", url)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Pitwall")
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="pii-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all-pii", EventBusName=BUS, EventPattern=json.dumps({"source": ["pitwall.pii_redaction"]}))
        events.put_targets(Rule="all-pii", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        yield build


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def _decoded(record: dict[str, Any]) -> Any:
    return json.loads(base64.b64decode(record["data"]))


def test_golden_record_through_the_handler_and_its_events(env):
    e = env()
    response = e.handler.handler(_event("firehose_golden_record.json"), LambdaContext())
    [record] = response["records"]
    assert record["result"] == "Ok"
    assert _decoded(record) == GOLDEN["expected"]
    published = e.published()
    [report] = published["PiiRedactionReport"]
    [usage] = published["ComprehendUsage"]
    assert_valid_event("PiiRedactionReport", report)
    assert_valid_event("ComprehendUsage", usage)
    assert report["data"]["records"]["ok"] == 1 and report["data"]["entities"]["SSN"] == 1
    lines = {line["api"]: line for line in usage["data"]["usage"]}
    assert lines["ContainsPiiEntities"]["requests"] == 2 and lines["DetectPiiEntities"]["requests"] == 1
    tweets = len(GOLDEN["record"]["Tweet1"]) + len(GOLDEN["record"]["Tweet2"])
    assert lines["DetectPiiEntities"]["characters"] == tweets + 2  # one blank-line separator
    assert lines["DetectPiiEntities"]["billed_units"] == -(-(tweets + 2) // 100)
    text = json.dumps(published)
    assert "548-95-6370" not in text and "Serdar" not in text


def test_bad_records_fail_alone(env):
    e = env()
    response = e.handler.handler(_event("firehose_bad_records.json"), LambdaContext())
    results = {r["recordId"]: r["result"] for r in response["records"]}
    assert results == {"bad-base64": "ProcessingFailed", "not-json": "ProcessingFailed", "good": "Ok"}
    good = next(r for r in response["records"] if r["recordId"] == "good")
    assert _decoded(good) == {"Tweet1": "mail ***************", "Tweet2": ""}
    report = e.published()["PiiRedactionReport"][0]["data"]
    assert report["failure_reasons"] == {"bad-base64": 1, "not-json": 1}


@pytest.mark.parametrize("fault", [
    {"error_rate": 1.0, "error_code": "InternalServerException"},
    {"error_rate": 1.0, "error_code": "ThrottlingException"},
])
def test_faults_fail_closed_with_no_raw_pii(env, fault):
    e = env()
    e.emulator.configure(**fault)
    response = e.handler.handler(_event("firehose_golden_record.json"), LambdaContext())
    [record] = response["records"]
    out = _decoded(record)
    assert record["result"] == "Ok" and out["_pii_redaction"] == "uninspected-fields-masked"
    assert set(out["Tweet1"]) == {"*"} and set(out["Tweet2"]) == {"*"} and out["User"] == "12345"


def test_calls_that_time_out_fail_closed(env):
    e = env(PII_READ_TIMEOUT_S="0.3", PII_MAX_ATTEMPTS="2", PII_FAILURE_POLICY="drop")
    e.emulator.configure(slow_rate=1.0, slow_ms=800)
    response = e.handler.handler(_event("firehose_golden_record.json"), LambdaContext())
    assert [(r["result"], r["data"]) for r in response["records"]] == [("Dropped", "")]


def test_time_running_out_fails_closed_per_policy(env):
    e = env(PII_FAILURE_POLICY="fail")
    response = e.handler.handler(_event("firehose_golden_record.json"), LambdaContext(remaining_ms=1_000))
    assert [r["result"] for r in response["records"]] == ["ProcessingFailed"]


def test_a_throttling_storm_is_ridden_out_by_retries(env):
    # One request per value and a quota of 3 calls/s: most first attempts are throttled.
    e = env(PII_CONTAINS_PACK_CHARS="1", PII_MAX_ATTEMPTS="12", PII_MAX_RPS="50")
    e.emulator.configure(rps_quota=3)
    throttled_before = e.emulator.stats.errors.get("ThrottlingException", 0)
    batch = _event("firehose_golden_record.json")
    batch["records"] = [dict(batch["records"][0], recordId=f"r{i}") for i in range(4)]
    response = e.handler.handler(batch, LambdaContext())
    assert all(_decoded(r) == GOLDEN["expected"] for r in response["records"])
    assert e.emulator.stats.errors["ThrottlingException"] > throttled_before


def test_a_bus_failure_never_fails_the_batch(env):
    e = env(EVENT_BUS_NAME="no-such-bus")
    response = e.handler.handler(copy.deepcopy(_event("firehose_golden_record.json")), LambdaContext())
    assert _decoded(response["records"][0]) == GOLDEN["expected"]


def test_records_without_a_data_string_and_hostile_json_fail_alone(env):
    # Issue 12 item 2: `data` missing, null or not a string (a KeyError used to fail the batch) and a
    # duplicate-key record, beside the golden record: every recordId answered once.
    from local.emulators.firehose import check_response

    e = env()
    batch = _event("firehose_golden_record.json")
    golden = batch["records"][0]
    duplicate = base64.b64encode(b'{"Tweet1": "My SSN is 548-95-6370", "Tweet1": "hello"}').decode()
    batch["records"] = [
        {k: v for k, v in golden.items() if k != "data"} | {"recordId": "missing"},
        dict(golden, recordId="null", data=None),
        dict(golden, recordId="number", data=12),
        dict(golden, recordId="duplicate", data=duplicate),
        golden,
    ]
    response = e.handler.handler(batch, LambdaContext())
    ids = [r["recordId"] for r in batch["records"]]
    assert [r["recordId"] for r in response["records"]] == ids
    assert check_response(response, ids) is None  # Firehose accepts the whole answer
    results = {r["recordId"]: r["result"] for r in response["records"]}
    assert results == {"missing": "ProcessingFailed", "null": "ProcessingFailed", "number": "ProcessingFailed",
                       "duplicate": "ProcessingFailed", golden["recordId"]: "Ok"}
    assert _decoded(response["records"][-1]) == GOLDEN["expected"]
    report = e.published()["PiiRedactionReport"][0]
    assert_valid_event("PiiRedactionReport", report)
    assert report["data"]["failure_reasons"] == {"no-data": 3, "duplicate-key": 1}


# --- uncertain PII for human review (issue 19 item 2, producer side) -----------------------------
REVIEW_BUCKET = "pitwall-raw-pii-test"
REVIEW_BAND = (0.5, 0.999)


def test_uncertain_entities_are_masked_and_sent_to_review_without_their_text(env):
    from local.emulators.pii_detect import PiiDetector

    e = env(PII_REVIEW_BAND=",".join(map(str, REVIEW_BAND)), PII_REVIEW_BUCKET=REVIEW_BUCKET)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=REVIEW_BUCKET)
    batch = _event("firehose_golden_record.json")
    response = e.handler.handler(batch, LambdaContext())
    [record] = response["records"]
    assert record["result"] == "Ok" and _decoded(record) == GOLDEN["expected"]  # masked exactly as without review

    published = e.published()
    candidates = published["PiiReviewCandidate"]
    detector = PiiDetector()
    expected = {}
    for name in ("Tweet1", "Tweet2"):
        text = GOLDEN["record"][name]
        alone = [(x.begin, x.end, x.type) for x in detector.detect(text) if REVIEW_BAND[0] <= x.score < REVIEW_BAND[1]]
        if alone:
            expected[name] = (text, alone)
    assert expected, "the golden record should have entities in the band"
    assert sorted(c["data"]["field"] for c in candidates) == sorted(expected)
    for candidate in candidates:
        assert_valid_event("PiiReviewCandidate", candidate)
        data = candidate["data"]
        text, alone = expected[data["field"]]
        # The event: no text of the value, not even one entity; the task object: the text and the spans.
        blob = json.dumps(candidate)
        assert text not in blob and not any(text[b:end] in blob for b, end, _ in alone)
        assert [(s["begin_offset"], s["end_offset"], s["type"]) for s in data["spans"]] == alone
        bucket, key = data["task_object"].removeprefix("s3://").split("/", 1)
        assert bucket == REVIEW_BUCKET and key.startswith("pii-review/")
        task = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert task == {"text": text, "spans": data["spans"], "field": data["field"],
                        "record_id": batch["records"][0]["recordId"]}
        assert data["record_id"] == batch["records"][0]["recordId"]
    # No other event carries the text either.
    everything = json.dumps(published)
    assert "548-95-6370" not in everything and "Serdar" not in everything


@pytest.mark.parametrize("policy,result", [("fail", "ProcessingFailed"), ("drop", "Dropped")])
def test_a_review_task_that_cannot_be_written_fails_its_record_per_policy(env, policy, result):
    e = env(PII_REVIEW_BAND=",".join(map(str, REVIEW_BAND)), PII_REVIEW_BUCKET="no-such-bucket",
            PII_FAILURE_POLICY=policy)
    batch = _event("firehose_golden_record.json")
    control = json.loads(json.dumps(batch["records"][0]))
    control["recordId"] = "control"
    control["data"] = base64.b64encode(json.dumps({"Tweet1": "hello there", "Tweet2": ""}).encode()).decode()
    batch["records"].append(control)
    response = e.handler.handler(batch, LambdaContext())
    assert [r["result"] for r in response["records"]] == [result, "Ok"]
    published = e.published()
    assert "PiiReviewCandidate" not in published
    assert published["PiiRedactionReport"][0]["data"]["failure_reasons"] == {"review-unsaved": 1}
