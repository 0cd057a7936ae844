"""Human review against moto in-process and the A2I emulator on a local port.

`review_env` creates what template.yaml gives the functions (loops table with its status index,
state table, bucket, bus), queues that capture what the service publishes and A2I's status changes
on the default bus, and serves the A2I emulator. Handlers run for real, with SQS-shaped events.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from werkzeug.serving import make_server

from local.emulators.a2i import A2IEmulator, make_app

REGION = "us-east-1"
FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/pitwall-review"
BUS = "pitwall-test"
BUCKET = "pitwall-review-test"
CANDIDATE_SOURCES = ("acme", "acme.vision", "pitwall.pii_redaction")
TASK_OBJECT_BUCKETS = ("frames", "pitwall-frames")


@dataclass
class LambdaContext:
    function_name: str = "human-review-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:human-review-test"
    aws_request_id: str = "req-1"


@dataclass
class ReviewEnv:
    a2i: A2IEmulator
    a2i_url: str
    published_queue: str
    status_queue: str

    def client(self, name: str) -> Any:
        return boto3.client(name, region_name=REGION)

    def published(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Events human review put on its bus so far (drained from the capture queue)."""
        return [event for event in _drain(self.client("sqs"), self.published_queue)
                if detail_type is None or event["detail-type"] == detail_type]

    def status_changes(self) -> list[dict[str, Any]]:
        """A2I status-change events that reached the default bus."""
        return _drain(self.client("sqs"), self.status_queue)

    def loop_item(self, name: str) -> dict[str, Any] | None:
        from human_review.adapters.loops_table import LoopsTable

        record = LoopsTable("loops").get(name)
        return record.model_dump(mode="json") if record else None


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    events = []
    while True:
        response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return events
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def sqs_event(*bodies: dict[str, Any] | str, message_ids: list[str] | None = None) -> dict[str, Any]:
    """An SQS Lambda event with one record per body (EventBridge events as JSON, or raw text)."""
    ids = message_ids or [str(uuid.uuid4()) for _ in bodies]
    return {"Records": [{
        "messageId": message_id, "receiptHandle": f"rh-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1763800000000",
                       "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1763800000000"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:human-review", "awsRegion": REGION,
    } for message_id, body in zip(ids, bodies, strict=True)]}


def bridge_event(detail_type: str, data: dict[str, Any], *, event_id: str | None = None,
                 source: str = "pitwall.race_predictor") -> dict[str, Any]:
    """An EventBridge event with the Pitwall envelope, as a rule's SQS target receives it."""
    event_id = event_id or str(uuid.uuid4())
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": source,
            "account": "123456789012", "time": "2026-11-22T10:00:00Z", "region": REGION, "resources": [],
            "detail": {"event_id": event_id, "correlation_id": f"corr-{event_id}",
                       "occurred_at": "2026-11-22T10:00:00.000Z", "schema_version": "1", "data": data}}


def faceoff(probability: float, confidence: float, *, model: str = "nhl-faceoff-1") -> dict[str, Any]:
    """A FaceoffPredicted payload as race_predictor publishes it (events/schemas/FaceoffPredicted.v1.json)."""
    return {"game_id": "2023020001", "faceoff_seq": 17,
            "dot": {"name": "neutral_-x_+y", "x_ft": -20.0, "y_ft": 22.0, "zone": "N"},
            "home_player_id": 8478402, "away_player_id": 8471675, "home_win_probability": probability,
            "confidence": confidence, "model_version": model, "trigger": "set", "period": 2,
            "seconds_elapsed": 431.5, "ts_ms": 1795309200000}


def pit_battle(swap_probability: float, *, lap: int = 17) -> dict[str, Any]:
    """A PitBattlePredicted payload (confidence = |2p - 1|, as race_predictor computes it)."""
    return {"race_id": "2023-12", "season": 2023, "round": 12, "circuit": "silverstone", "battle_id": "L16-VER-NOR",
            "lap": lap, "opened_lap": 16, "ahead_driver": "VER", "behind_driver": "NOR", "first_stopper": "NOR",
            "kind": "undercut", "swap_probability": swap_probability, "predicted_gap_s": 0.4,
            "confidence": round(abs(2 * swap_probability - 1), 6), "model_version": "f1-undercut-1"}


def _capture_queue(sqs: Any, events: Any, name: str, bus: str, pattern: dict[str, Any]) -> str:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{name}-rule", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"{name}-rule", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def create_resources() -> None:
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="loops", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "human_loop_name", "AttributeType": "S"},
                              {"AttributeName": "status", "AttributeType": "S"},
                              {"AttributeName": "created_at", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "human_loop_name", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "status-index", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                               {"AttributeName": "created_at", "KeyType": "RANGE"}]}],
    )
    dynamodb.create_table(
        TableName="review-state", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=PII_BUCKET)
    boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)


PII_BUCKET = "pitwall-raw-pii-test"


def opt_in_policies() -> list[dict[str, Any]]:
    """The packaged policies with the forecast ones opted in to human loops (`start_loops: true`).

    Packaged forecast policies start no loop (issue 19: the world answers them); these tests use
    forecasts as their loop vehicle, so they opt in explicitly, as a deployer could.
    """
    from human_review.settings import DEFAULT_POLICIES_FILE

    items = json.loads(DEFAULT_POLICIES_FILE.read_text())
    return [item | {"start_loops": True} if "outcome" in item else item for item in items]


@pytest.fixture
def review_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReviewEnv]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION, "LOOPS_TABLE_NAME": "loops", "STATE_TABLE_NAME": "review-state",
        "REVIEW_BUCKET_NAME": BUCKET, "EVENT_BUS_NAME": BUS, "DEFAULT_FLOW_DEFINITION_ARN": FLOW,
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "Pitwall",
        # What the stack lists (issue 16 item 6): the sample producer and its frames bucket.
        "REVIEW_CANDIDATE_SOURCES": ",".join(CANDIDATE_SOURCES), "TASK_OBJECT_BUCKETS": ",".join(TASK_OBJECT_BUCKETS),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("REVIEW_POLICIES", json.dumps(opt_in_policies()))
    monkeypatch.setenv("PII_REVIEW_BUCKET_NAME", PII_BUCKET)
    from human_review import handlers
    from pitwall_shared.aws import client

    with mock_aws():
        create_resources()
        sqs, events = boto3.client("sqs", region_name=REGION), boto3.client("events", region_name=REGION)
        published = _capture_queue(sqs, events, "published", BUS, {"source": ["pitwall.human_review"]})
        status = _capture_queue(sqs, events, "status", "default",
                                {"source": ["aws.sagemaker"], "detail-type": ["SageMaker A2I HumanLoop Status Change"]})
        emulator = make_app(s3=boto3.client("s3", region_name=REGION), events=events,
                            output_s3_path=f"s3://{BUCKET}/a2i-output", task_object_buckets=(*TASK_OBJECT_BUCKETS, BUCKET),
                            own_task_buckets=lambda: [PII_BUCKET])
        server = make_server("127.0.0.1", 0, emulator, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", url)
        client.cache_clear()
        handlers.service.cache_clear()
        try:
            yield ReviewEnv(a2i=emulator, a2i_url=url, published_queue=published, status_queue=status)
        finally:
            server.shutdown()
            thread.join(timeout=5)
            client.cache_clear()
            handlers.service.cache_clear()
