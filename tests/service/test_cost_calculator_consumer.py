"""The usage consumer in-process against moto, through its real handler and SQS-shaped events:
per-minute aggregation, idempotency by event id, partial batch failures, and one
EndpointRightsizingRecommended per change (validated against its schema)."""

from __future__ import annotations

import copy
import json
import os
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from moto import mock_aws

os.environ.setdefault("USAGE_TABLE_NAME", "pitwall-cost-usage-test")
os.environ.setdefault("EVENT_BUS_NAME", "pitwall-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cost_calculator import factory, handlers  # noqa: E402
from cost_calculator.adapters.publisher import RightsizingPublisher  # noqa: E402
from local.provision import load_template  # noqa: E402
from pitwall_shared import aws  # noqa: E402
from pitwall_shared.publisher import PublishError  # noqa: E402
from tests.contracts import assert_valid_event  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events" / "cost_calculator"
ENDPOINT = "race-radio-classifier"


class Context:
    function_name = "CostUsageConsumerFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:CostUsageConsumerFunction"
    aws_request_id = "test-request"


def create_usage_table(dynamodb, name):
    """Create the table exactly as template.yaml declares it (keys, TTL), so a drift shows here."""
    props = load_template(ROOT / "template.yaml")["Resources"]["CostUsageTable"]["Properties"]
    dynamodb.create_table(TableName=name, AttributeDefinitions=props["AttributeDefinitions"],
                          KeySchema=props["KeySchema"], BillingMode=props["BillingMode"])
    ttl = props["TimeToLiveSpecification"]
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
        "AttributeName": ttl["AttributeName"], "Enabled": True})


@contextmanager
def usage_cloud(monkeypatch):
    """moto with the usage table, the bus, and a queue capturing EndpointRightsizingRecommended."""
    for variable in [v for v in os.environ if v.startswith("AWS_ENDPOINT_URL")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.client.cache_clear()
    with mock_aws():
        dynamodb, events, sqs = aws.client("dynamodb"), aws.client("events"), aws.client("sqs")
        create_usage_table(dynamodb, factory.store().table_name)
        events.create_event_bus(Name=factory.consumer_settings().event_bus_name)
        queue_url = sqs.create_queue(QueueName="rightsizing-capture")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="capture", EventBusName=factory.consumer_settings().event_bus_name,
                        EventPattern=json.dumps({"detail-type": ["EndpointRightsizingRecommended"]}))
        events.put_targets(Rule="capture", EventBusName=factory.consumer_settings().event_bus_name,
                           Targets=[{"Id": "q", "Arn": queue_arn}])
        yield {"dynamodb": dynamodb, "sqs": sqs, "queue_url": queue_url}
    aws.client.cache_clear()


@pytest.fixture
def cloud(monkeypatch):
    with usage_cloud(monkeypatch) as resources:
        yield resources


def now_iso():
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sample(name):
    """A sample SQS event with its bus events re-dated to now (the recommendation window ends now)."""
    event = json.loads((EVENTS / name).read_text())
    for record in event["Records"]:
        try:
            bus_event = json.loads(record["body"])
        except json.JSONDecodeError:
            continue
        bus_event["detail"]["occurred_at"] = now_iso()
        if "observed_at" in bus_event["detail"]["data"]:
            bus_event["detail"]["data"]["observed_at"] = now_iso()
        record["body"] = json.dumps(bus_event)
    return event


def traffic(event_id, characters, configured=None, message_id=None):
    data = {"endpoint_name": ENDPOINT, "observed_at": now_iso(), "characters": characters, "requests": 10}
    if configured is not None:
        data["configured_inference_units"] = configured
    bus_event = {"version": "0", "id": f"eb-{event_id}", "detail-type": "EndpointTraffic",
                 "source": "pitwall.endpoint_monitor", "account": "123456789012", "time": now_iso(),
                 "region": "us-east-1", "resources": [],
                 "detail": {"event_id": event_id, "correlation_id": f"corr-{event_id}", "occurred_at": now_iso(),
                            "schema_version": "1", "data": data}}
    template = json.loads((EVENTS / "sqs_endpoint_traffic_over_provisioned.json").read_text())["Records"][0]
    record = copy.deepcopy(template)
    record["messageId"] = message_id or f"msg-{event_id}"
    record["body"] = json.dumps(bus_event)
    return record


def consume(*records):
    return handlers.usage_consumer({"Records": list(records)}, Context())


def failures(response):
    return sorted(item["itemIdentifier"] for item in response["batchItemFailures"])


def endpoint_minutes(dynamodb):
    items = dynamodb.query(
        TableName=factory.consumer_settings().usage_table_name, KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
        ExpressionAttributeValues={":pk": {"S": f"ENDPOINT#{ENDPOINT}"}, ":m": {"S": "MINUTE#"}})["Items"]
    return items


def endpoint_characters(dynamodb):
    return sum(int(item["characters"]["N"]) for item in endpoint_minutes(dynamodb))


def drain(cloud):
    found = []
    while True:
        response = cloud["sqs"].receive_message(QueueUrl=cloud["queue_url"], MaxNumberOfMessages=10)
        messages = response.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            cloud["sqs"].delete_message(QueueUrl=cloud["queue_url"], ReceiptHandle=message["ReceiptHandle"])


def test_sample_traffic_event_is_counted_and_configures_the_endpoint(cloud):
    response = consume(*sample("sqs_endpoint_traffic_over_provisioned.json")["Records"])
    assert response == {"batchItemFailures": []}
    (minute,) = endpoint_minutes(cloud["dynamodb"])
    assert (minute["characters"]["N"], minute["requests"]["N"]) == ("30000", "50")
    # The minute counter expires (TTL) a few days after its minute.
    assert int(minute["expires_at"]["N"]) > datetime.now(UTC).timestamp() + 86_400
    assert factory.store().configured(ENDPOINT) == 8


def test_sample_comprehend_usage_is_counted_per_api(cloud):
    assert consume(*sample("sqs_comprehend_usage_pii_batch.json")["Records"]) == {"batchItemFailures": []}
    items = cloud["dynamodb"].scan(TableName=factory.consumer_settings().usage_table_name)["Items"]
    by_pk = {item["pk"]["S"]: item for item in items if item["sk"]["S"].startswith("MINUTE#")}
    assert by_pk["PII_API#ContainsPiiEntities"]["billed_units"]["N"] == "2000"
    assert by_pk["PII_API#DetectPiiEntities"]["characters"]["N"] == "4300"
    assert not any(pk.startswith("ENDPOINT#") for pk in by_pk)


def test_a_duplicate_delivery_adds_nothing(cloud):
    first = traffic("traffic-a", 6000, configured=1)
    again = traffic("traffic-a", 6000, configured=1, message_id="msg-redelivered")
    assert consume(first, again) == {"batchItemFailures": []}
    assert consume(again) == {"batchItemFailures": []}
    assert endpoint_characters(cloud["dynamodb"]) == 6000
    assert consume(traffic("traffic-b", 1500)) == {"batchItemFailures": []}
    assert endpoint_characters(cloud["dynamodb"]) == 7500


def test_malformed_records_fail_alone(cloud):
    event = sample("sqs_usage_batch_duplicate_and_malformed.json")
    response = consume(*event["Records"])
    bad = [r["messageId"] for r in event["Records"][2:]]
    assert failures(response) == sorted(bad)
    assert endpoint_characters(cloud["dynamodb"]) == 30_000


def test_a_record_that_is_not_a_usage_event_fails_without_echoing_it(cloud, caplog, capsys):
    record = traffic("traffic-x", 100)
    body = json.loads(record["body"])
    body["detail-type"] = "PitBattlePredicted"
    body["detail"]["data"] = {"secret_field": "Jane Doe 555-0100"}
    record["body"] = json.dumps(body)
    assert failures(consume(record)) == ["msg-traffic-x"]
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records) + "".join(capsys.readouterr())
    assert "unknown_detail_type" in logged and "detail-type: not an event" in logged  # the reason is logged...
    assert "Jane Doe" not in logged and "555-0100" not in logged  # ...the record's contents are not


def test_invalid_data_is_reported_by_field_without_its_value(cloud, caplog, capsys):
    record = traffic("traffic-y", 100)
    body = json.loads(record["body"])
    body["detail"]["data"]["endpoint_name"] = "Jane Doe's endpoint"
    record["body"] = json.dumps(body)
    assert failures(consume(record)) == ["msg-traffic-y"]
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records) + "".join(capsys.readouterr())
    assert "endpoint_name" in logged
    assert "Jane Doe" not in logged


def test_rightsizing_is_published_once_per_change(cloud):
    # 30,000 characters in a minute = 500 characters per second: 5 IUs, configured 8.
    responses = [consume(traffic(f"t-{i}", 30_000 if i == 0 else 0, configured=8)) for i in range(3)]
    assert all(r == {"batchItemFailures": []} for r in responses)
    (event,) = drain(cloud)
    assert event["source"] == "pitwall.cost_calculator"
    assert event["detail-type"] == "EndpointRightsizingRecommended"
    assert_valid_event(event["detail-type"], event["detail"])
    data = event["detail"]["data"]
    assert (data["configured_inference_units"], data["recommended_inference_units"]) == (8, 5)
    assert data["direction"] == "scale_down"
    assert data["projected_daily_saving"] == "129.6"
    assert event["detail"]["event_id"] == f"rightsizing:{ENDPOINT}:1"
    assert event["detail"]["correlation_id"] == "corr-t-0"

    # Reconfigured to 5: right-sized, nothing to say. Back to 8: a new change, a new event.
    consume(traffic("t-3", 0, configured=5))
    assert drain(cloud) == []
    consume(traffic("t-4", 0, configured=8))
    (again,) = drain(cloud)
    assert again["detail"]["data"]["sequence"] == 3
    assert again["detail"]["event_id"] == f"rightsizing:{ENDPOINT}:3"


def test_scale_up_when_traffic_outgrows_the_configuration(cloud):
    consume(traffic("u-0", 90_000, configured=2))  # 1,500 characters per second: 15 IUs
    (event,) = drain(cloud)
    data = event["detail"]["data"]
    assert (data["direction"], data["recommended_inference_units"]) == ("scale_up", 15)
    assert Decimal(data["projected_daily_shortfall"]) == Decimal("0.0005") * 13 * 86_400
    assert data["projected_daily_saving"] == "0"
    assert_valid_event(event["detail-type"], event["detail"])


def test_a_failed_publish_is_retried_by_the_redelivery(cloud, monkeypatch):
    real_publish = RightsizingPublisher.publish
    calls = []

    def flaky(self, data, *, event_id, correlation_id):
        calls.append(event_id)
        if len(calls) == 1:
            raise PublishError([(event_id, "InternalFailure")])
        return real_publish(self, data, event_id=event_id, correlation_id=correlation_id)

    monkeypatch.setattr(RightsizingPublisher, "publish", flaky)
    record = traffic("p-0", 30_000, configured=8)
    assert failures(consume(record)) == ["msg-p-0"]
    assert drain(cloud) == []
    assert endpoint_characters(cloud["dynamodb"]) == 30_000
    # SQS redelivers the failed message: nothing is counted twice, the change goes out once.
    assert consume(record) == {"batchItemFailures": []}
    assert endpoint_characters(cloud["dynamodb"]) == 30_000
    (event,) = drain(cloud)
    assert event["detail"]["event_id"] == f"rightsizing:{ENDPOINT}:1"
    assert calls == [f"rightsizing:{ENDPOINT}:1"] * 2
    consume(traffic("p-1", 0))
    assert drain(cloud) == []


@pytest.mark.parametrize("name", ["sqs_endpoint_traffic_over_provisioned.json", "sqs_comprehend_usage_pii_batch.json"])
def test_sample_usage_events_follow_their_contracts(name):
    for record in json.loads((EVENTS / name).read_text())["Records"]:
        bus_event = json.loads(record["body"])
        assert_valid_event(bus_event["detail-type"], bus_event["detail"])


def test_the_malformed_sample_breaks_the_contract():
    records = json.loads((EVENTS / "sqs_usage_batch_duplicate_and_malformed.json").read_text())["Records"]
    bad = json.loads(records[2]["body"])
    with pytest.raises(AssertionError, match="characters"):
        assert_valid_event(bad["detail-type"], bad["detail"])
