"""pitwall_shared.events and .publisher: the envelope, batching within PutEvents quotas, retrying only failures."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from pitwall_shared.events import Event, envelope
from pitwall_shared.publisher import EventPublisher, PublishError, batches
from tests.contracts import validator


class FlakyEvents:
    """A PutEvents stand-in that fails chosen entries a given number of times."""

    def __init__(self, fail_times: dict[str, int]) -> None:
        self.fail_times = dict(fail_times)
        self.calls: list[list[str]] = []

    def put_events(self, Entries):
        ids = [json.loads(entry["Detail"])["event_id"] for entry in Entries]
        self.calls.append(ids)
        results = []
        for event_id in ids:
            if self.fail_times.get(event_id, 0) > 0:
                self.fail_times[event_id] -= 1
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"EventId": f"eb-{event_id}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def test_envelope_matches_its_schema():
    detail = envelope(Event("Anything", {"x": 1}, event_id="e-1"))
    assert not list(validator("envelope.v1").iter_errors(detail))
    assert detail["correlation_id"] == "e-1"


def test_batches_hold_at_most_ten_entries_and_256_kb():
    small = [{"Source": "s", "DetailType": "d", "Detail": "x" * 100, "EventBusName": "b"}] * 25
    assert [len(b) for b in batches(small)] == [10, 10, 5]
    big = [{"Source": "s", "DetailType": "d", "Detail": "x" * 100_000, "EventBusName": "b"}] * 5
    for batch in batches(big):
        assert sum(len(e["Detail"]) for e in batch) <= 256 * 1024
    with pytest.raises(ValueError, match="256 KB"):
        list(batches([{"Source": "s", "DetailType": "d", "Detail": "x" * 300_000, "EventBusName": "b"}]))


def test_only_failed_entries_are_retried():
    client = FlakyEvents({"e2": 1})
    publisher = EventPublisher("pitwall.test", "bus", events_client=client, sleep=lambda _: None)
    publisher.publish_many([Event("T", {}, event_id=f"e{i}") for i in range(3)])
    assert client.calls == [["e0", "e1", "e2"], ["e2"]]


def test_entries_that_keep_failing_raise_with_their_ids():
    client = FlakyEvents({"e1": 99})
    publisher = EventPublisher("pitwall.test", "bus", events_client=client, sleep=lambda _: None)
    with pytest.raises(PublishError) as error:
        publisher.publish_many([Event("T", {}, event_id="e0"), Event("T", {}, event_id="e1")])
    assert error.value.failed == [("e1", "InternalFailure")]


def test_publishes_to_a_real_bus_shape():
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        events.create_event_bus(Name="pitwall-test")
        publisher = EventPublisher("pitwall.test", "pitwall-test", events_client=events)
        detail = publisher.publish("Ping", {"n": 1}, event_id="p-1", correlation_id="c-1")
    assert detail["data"] == {"n": 1} and detail["correlation_id"] == "c-1"


def test_what_a_consumer_receives_parses_with_the_models_that_built_it():
    """Publish through EventBridge to an SQS target (as every consumer is wired) and parse the
    message body with the shared `BusEvent`: the envelope built on one side is the one read on
    the other, and both match `events/schemas/envelope.v1.json`."""
    from pitwall_shared.events import BusEvent, Envelope

    with mock_aws():
        events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        events.create_event_bus(Name="pitwall-test")
        queue = sqs.create_queue(QueueName="consumer")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="pitwall-test", EventPattern=json.dumps({"source": ["pitwall.test"]}))
        events.put_targets(Rule="all", EventBusName="pitwall-test", Targets=[{"Id": "q", "Arn": arn}])
        sent = EventPublisher("pitwall.test", "pitwall-test", events_client=events).publish(
            "Ping", {"n": 1}, event_id="p-1", correlation_id="c-1")
        (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    received = BusEvent.model_validate_json(message["Body"])
    assert (received.source, received.detail_type) == ("pitwall.test", "Ping")
    assert received.detail == Envelope.model_validate(sent)
    assert received.detail.model_dump(mode="json")["data"] == {"n": 1}
    assert not list(validator("envelope.v1").iter_errors(json.loads(message["Body"])["detail"]))


@pytest.mark.parametrize("broken", [
    {"schema_version": None}, {"schema_version": "v1"}, {"event_id": ""}, {"occurred_at": "yesterday"},
    {"data": [1]}, {"correlation_id": None},
])
def test_an_envelope_the_schema_refuses_the_model_refuses(broken):
    from pydantic import ValidationError

    from pitwall_shared.events import BusEvent

    detail = {**envelope(Event("Ping", {"n": 1}, event_id="e-1")), **broken}
    detail = {key: value for key, value in detail.items() if value is not None}
    assert list(validator("envelope.v1").iter_errors(detail))
    with pytest.raises(ValidationError):
        BusEvent.model_validate({"source": "pitwall.test", "detail-type": "Ping", "detail": detail})
