"""race_predictor NHL through its real entry points: the Kinesis handler against moto (DynamoDB,
EventBridge -> SQS) and the face-off HTTP routes through Chalice's test client."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from moto import mock_aws

from tests.contracts import assert_valid_event


def kinesis_event(records: list, first: int) -> dict:
    return {"Records": [{
        "eventSource": "aws:kinesis", "eventID": f"shardId-000:{first + k}",
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "g", "sequenceNumber": str(first + k),
                    "approximateArrivalTimestamp": 1.0,
                    "data": base64.b64encode(r if isinstance(r, bytes) else json.dumps(r).encode()).decode()}}
        for k, r in enumerate(records)]}


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                        "RACE_STATE_TABLE_NAME": "race-state", "PLAYER_STATS_TABLE_NAME": "player-stats",
                        "EVENT_BUS_NAME": "pitwall-bus", "POWERTOOLS_METRICS_NAMESPACE": "Pitwall"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(TableName="race-state", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                    {"AttributeName": "sk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                         {"AttributeName": "sk", "KeyType": "RANGE"}])
        dynamodb.create_table(TableName="player-stats", BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "player_id", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "player_id", "KeyType": "HASH"}])
        sqs, events = boto3.client("sqs"), boto3.client("events")
        events.create_event_bus(Name="pitwall-bus")
        queue = sqs.create_queue(QueueName="seen")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="faceoffs", EventBusName="pitwall-bus",
                        EventPattern=json.dumps({"detail-type": ["FaceoffPredicted"]}))
        events.put_targets(Rule="faceoffs", EventBusName="pitwall-bus", Targets=[{"Id": "q", "Arn": arn}])
        from pitwall_shared import aws as shared_aws
        from race_predictor import factory

        for cached in (getattr(shared_aws.client, "cache_clear", None), factory.nhl_service.cache_clear):
            if cached:
                cached()
        yield sqs, queue
        factory.nhl_service.cache_clear()


def drain(sqs, queue) -> list[dict]:
    out = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return out


class Context:
    function_name = "NhlTrackingFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:nhl"
    aws_request_id = "req-1"


def test_handler_publishes_every_setup_once_and_reports_malformed_records(aws):
    from ml.nhl.simulator import simulate_game
    from race_predictor import factory
    from race_predictor.handlers import nhl_tracking_handler

    sqs, queue = aws
    game = simulate_game("svc-1", seed=9, faceoffs_per_period=3, periods=1, waive_out_rate=0.5)
    records = list(game.records)
    records.insert(300, b"\x00not json")
    first = 1
    failures = []
    for start in range(0, len(records), 400):
        chunk = records[start:start + 400]
        response = nhl_tracking_handler(kinesis_event(chunk, first + start), Context())
        failures += response["batchItemFailures"]
        if start == 400:
            factory.nhl_service.cache_clear()  # a new sandbox: only DynamoDB remembers
            nhl_tracking_handler(kinesis_event(chunk, first + start), Context())
    assert failures == [{"itemIdentifier": "301"}]
    bodies = drain(sqs, queue)
    expected = [(f.dot, h, a) for f in game.faceoffs for h, a in f.setups]
    got = [(b["detail"]["data"]["dot"]["name"], b["detail"]["data"]["home_player_id"],
            b["detail"]["data"]["away_player_id"]) for b in sorted(bodies, key=lambda b: b["detail"]["data"]["ts_ms"])]
    assert got == expected
    for body in bodies:
        assert body["source"] == "pitwall.race_predictor"
        assert_valid_event("FaceoffPredicted", body["detail"])


def test_faceoff_routes_validate_predict_and_record(aws):
    from chalice.test import Client

    from race_predictor import api

    with Client(api.app) as client:
        bad = client.http.post("/faceoffs/predict", headers={"Content-Type": "application/json"},
                               body=json.dumps({"home_player_id": 1, "away_player_id": 1, "zone": "X", "period": 0,
                                                "seconds_elapsed": 10, "home_skaters": 5, "away_skaters": 9}))
        assert bad.status_code == 400
        problems = " ".join(json.loads(bad.body)["problems"])
        for field in ("zone", "period", "away_skaters"):
            assert field in problems
        assert client.http.post("/faceoffs/predict", headers={"Content-Type": "application/json"},
                                body="{nope").status_code == 400
        situation = {"home_player_id": 8478010, "away_player_id": 8470604, "zone": "O", "period": 2,
                     "seconds_elapsed": 300, "home_skaters": 5, "away_skaters": 4, "score_diff": 1,
                     "season": 20232024}
        first = json.loads(client.http.post("/faceoffs/predict", headers={"Content-Type": "application/json"},
                                            body=json.dumps(situation)).body)
        assert 0 < first["home_win_probability"] < 1 and first["confidence"] == 0
        wrong = client.http.post("/faceoffs/results", headers={"Content-Type": "application/json"},
                                 body=json.dumps({**situation, "winner_id": 5}))
        assert wrong.status_code == 400 and "winner_id" in wrong.body.decode()
        for k in range(30):
            response = client.http.post("/faceoffs/results", headers={"Content-Type": "application/json"},
                                        body=json.dumps({**situation, "winner_id": 8478010, "result_id": f"r{k}"}))
            assert response.status_code == 200
        again = json.loads(client.http.post("/faceoffs/results", headers={"Content-Type": "application/json"},
                                            body=json.dumps({**situation, "winner_id": 8478010,
                                                             "result_id": "r0"})).body)
        assert again["counted"] is False
        assert {p["player_id"]: p["career_total"] for p in again["players"]} == {8478010: 30, 8470604: 30}
        after = json.loads(client.http.post("/faceoffs/predict", headers={"Content-Type": "application/json"},
                                            body=json.dumps(situation)).body)
        assert after["home_win_probability"] > first["home_win_probability"] and after["confidence"] > 0
        assert client.http.get("/games/unknown-game/faceoff").status_code == 404
        assert client.http.get("/games/bad%20id/faceoff").status_code == 400
