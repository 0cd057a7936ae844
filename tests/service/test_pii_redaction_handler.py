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
