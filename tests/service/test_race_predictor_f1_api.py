"""race_predictor's F1 HTTP API against moto: Chalice routes -> DynamoDB state + ledger ->
EventBridge. Published events are captured through a rule to an SQS queue and checked against
the contract; retries and concurrent requests publish each prediction once."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from tests.contracts import assert_valid_event
from tests.unit.race_predictor_f1.f1_builders import undercut_race

TABLE, BUS = "race-state-test", "pitwall-test"


@pytest.fixture
def cloud(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("RACE_STATE_TABLE_NAME", TABLE)
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    from pitwall_shared.aws import client

    with mock_aws():
        client.cache_clear()
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}])
        events, sqs = boto3.client("events"), boto3.client("sqs")
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="captured")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all-predictions", EventBusName=BUS,
                        EventPattern=json.dumps({"source": ["pitwall.race_predictor"]}))
        events.put_targets(Rule="all-predictions", EventBusName=BUS, Targets=[{"Id": "q", "Arn": arn}])
        from race_predictor import api, factory

        factory.f1_service.cache_clear()

        def captured() -> list[dict]:
            found = []
            while True:
                got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    return found
                for message in got:
                    found.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

        with Client(api.app) as http:
            yield http, captured, ddb
        factory.f1_service.cache_clear()
        client.cache_clear()


def post(http, race_id: str, body) -> tuple[int, dict]:
    response = http.http.post(f"/races/{race_id}/messages", headers={"Content-Type": "application/json"},
                              body=json.dumps(body))
    return response.status_code, json.loads(response.body)


def test_race_through_the_api_publishes_each_prediction_once(cloud):
    http, captured, ddb = cloud
    race = undercut_race()
    status, answer = post(http, "bahrain-2023", race.batch())
    assert status == 200 and answer["accepted"] == len(race.messages) and answer["duplicates"] == []
    assert [p["data"]["lap"] for p in answer["predictions"]] == [5, 6, 7]
    published = captured()
    assert [e["detail-type"] for e in published] == ["PitBattlePredicted"] * 3 + ["PitBattleResolved"]
    (outcome,) = [e for e in published if e["detail-type"] == "PitBattleResolved"]
    assert_valid_event("PitBattleResolved", outcome["detail"])
    assert outcome["detail"]["data"]["swapped"] is True
    events = [e for e in published if e["detail-type"] == "PitBattlePredicted"]
    assert {e["detail"]["event_id"] for e in events} == {p["event_id"] for p in answer["predictions"]}
    for event in events:
        assert event["source"] == "pitwall.race_predictor"
        assert_valid_event("PitBattlePredicted", event["detail"])
    # the same request again (a retry): all duplicates, nothing published
    status, again = post(http, "bahrain-2023", race.batch())
    assert status == 200 and again["accepted"] == 0 and again["predictions"] == []
    assert again["duplicates"] == [m["seq"] for m in race.messages]
    assert captured() == []
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "F1#bahrain-2023"}, "sk": {"S": "STATE"}})["Item"]
    assert int(item["version"]["N"]) >= 1 and int(item["expires_at"]["N"]) > 0
    ledger = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                       ExpressionAttributeValues={":pk": {"S": "F1#bahrain-2023"}, ":p": {"S": "PUB#"}})["Items"]
    assert sorted(i["sk"]["S"] for i in ledger) == sorted([f"PUB#L5-AAA-BBB@{lap}" for lap in (5, 6, 7)] + ["PUB#L5-AAA-BBB@end"])
    assert {i["status"]["S"] for i in ledger} == {"published"}


def test_get_race_and_battles(cloud):
    http, _, _ = cloud
    assert http.http.get("/races/nope").status_code == 404
    race = undercut_race()
    race.end()
    post(http, "r2", race.batch())
    view = json.loads(http.http.get("/races/r2").body)
    assert view["status"] == "finished" and view["lap"] == 8 and len(view["order"]) == 3
    battles = json.loads(http.http.get("/races/r2/battles").body)
    (battle,) = battles["resolved"]
    assert battle["battle_id"] == "L5-AAA-BBB" and battle["swapped"] is True
    assert battle["latest_prediction"]["lap"] == 7 and battles["open"] == []


@pytest.mark.parametrize(("body", "field"), [
    ({"messages": [{"seq": 1, "type": "lap_completed", "driver": "AAA", "lap": 1, "position": 1,
                    "lap_time_ms": -3, "race_time_ms": 90000}]}, "messages[0].lap_time_ms"),
    ({"messages": [{"seq": 1, "type": "pit_in", "driver": "AAA"}]}, "messages[0].lap"),
    ({"events": []}, "messages"),
])
def test_bad_input_is_a_400_naming_the_field(cloud, body, field):
    http, captured, _ = cloud
    status, answer = post(http, "r3", body)
    assert status == 400 and answer["error"] == "invalid_request"
    assert any(p.startswith(field + ":") for p in answer["problems"]), answer
    response = http.http.post("/races/r3/messages", headers={"Content-Type": "application/json"}, body="{nope")
    assert response.status_code == 400 and "body: not valid JSON" in response.body.decode()
    assert http.http.get("/races/r3").status_code == 404  # nothing stored
    assert captured() == []


def test_concurrent_requests_for_one_race_against_dynamodb(cloud):
    http, captured, _ = cloud
    race = undercut_race()
    messages = race.messages
    post(http, "r4", {"messages": messages[:1]})
    from race_predictor import factory
    from race_predictor.models.f1 import parse_batch

    service = factory.f1_service()
    chunks = [messages[1 + i::4] for i in range(4)]
    errors = []

    def send(chunk):
        try:
            service.post_messages("r4", parse_batch({"messages": chunk}))
        except Exception as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=send, args=(chunk,)) for chunk in chunks for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    state = service.load_state("r4")
    assert state.applied_seqs == {m["seq"] for m in messages}
    published = captured()
    assert sorted(e["detail"]["data"]["lap"] for e in published if e["detail-type"] == "PitBattlePredicted") == [5, 6, 7]
    assert [e["detail-type"] for e in published].count("PitBattleResolved") == 1


def test_sample_events_run_through_the_lambda_handler(cloud):
    """events/race_predictor/*.json are real REST proxy events: `sam local invoke -e` them."""
    from pathlib import Path

    from race_predictor import api

    samples = Path(__file__).resolve().parents[2] / "events" / "race_predictor"

    def invoke(name: str) -> dict:
        return api.app(json.loads((samples / name).read_text()), None)

    assert invoke("post_messages_bad_lap_time.json")["statusCode"] == 400
    opened = invoke("post_messages_lap5_battle_opens.json")
    assert opened["statusCode"] == 200
    assert [p["data"]["lap"] for p in json.loads(opened["body"])["predictions"]] == [5]
    rest = json.loads(invoke("post_messages_undercut_race.json")["body"])
    assert [p["data"]["lap"] for p in rest["predictions"]] == [6, 7] and len(rest["duplicates"]) == 18
    assert invoke("get_race.json")["statusCode"] == 200
    battles = json.loads(invoke("get_race_battles.json")["body"])
    assert battles["resolved"][0]["battle_id"] == "L5-AAA-BBB"
