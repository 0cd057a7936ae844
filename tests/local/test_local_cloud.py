"""The local cloud itself: provisioning from a template, workers, gateway and pollers.

Runs a tiny fixture system (tests/local/fixtures/template.yaml) so these tests say whether the
local cloud works, independently of the services.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from local.cloud import LocalCloud
from tests.polling import wait_for

FIXTURE = Path(__file__).parent / "fixtures" / "template.yaml"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with LocalCloud(FIXTURE, stack_name="echo", log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def _item(cloud, pk):
    table = cloud.physical_id("EchoTable")
    return cloud.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")


def test_resources_exist_under_template_names(cloud):
    assert cloud.physical_id("Bus") == "echo-bus"
    tables = cloud.client("dynamodb").list_tables()["TableNames"]
    assert cloud.physical_id("EchoTable") in tables


def test_a_custom_resource_runs_its_function_and_later_resources_get_its_answer(cloud):
    [request] = cloud.custom_resources.requests
    assert (request["RequestType"], request["LogicalResourceId"]) == ("Create", "EchoThing")
    assert request["ResourceProperties"]["Name"] == "echo-thing"  # ${AWS::StackName} resolved
    assert cloud.physical_id("EchoThing") == "echo-thing-id"  # the PhysicalResourceId it answered
    # EchoThingQueue is named by !GetAtt EchoThing.Name: the answer's Data, there before the queue.
    assert cloud.physical_id("EchoThingQueue").endswith("/echo-thing")
    assert cloud.client("sqs").get_queue_url(QueueName="echo-thing")["QueueUrl"].endswith("/echo-thing")


def test_gateway_routes_to_function_with_resolved_environment(cloud):
    with urllib.request.urlopen(cloud.api_url + "/echo/ada") as response:
        body = json.loads(response.read())
    assert body["resource"] == "/echo/{name}"
    assert body["path"] == {"name": "ada"}
    assert body["table"] == cloud.physical_id("EchoTable")


def test_comprehend_emulator_is_served_outside_the_process_that_serves_moto(cloud):
    # spaCy's CPU work would otherwise hold the GIL that moto, the gateway and the pollers share.
    server = cloud.emulators["comprehend"].server
    assert server.pid is not None and server.pid != os.getpid()
    assert cloud.base_environment()["AWS_ENDPOINT_URL_COMPREHEND"] == server.url


def test_gateway_answers_unknown_route_like_api_gateway(cloud):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(cloud.api_url + "/nowhere")
    assert error.value.code == 403


def test_event_reaches_function_through_rule_and_queue(cloud):
    cloud.client("events").put_events(Entries=[{
        "Source": "echo.test", "DetailType": "Echo", "Detail": json.dumps({"id": "e1"}), "EventBusName": "echo-bus"}])
    item = wait_for(lambda: _item(cloud, "sqs#e1"))
    assert item["receive"]["S"] == "1"


def test_batches_of_one_queue_run_concurrently_up_to_the_mapping_maximum(cloud):
    # Lambda runs several batches of a queue at once; the mapping's MaximumConcurrency is 2 here.
    assert len(cloud.runner.workers("QueueFunction")) == 2
    sqs = cloud.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=cloud.physical_id("EchoQueue").rsplit("/", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": "slow", "sleep_s": 3}))
    wait_for(lambda: _item(cloud, "started#slow"))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": "quick"}))
    quick, slow = wait_for(lambda: _item(cloud, "sqs#quick")), wait_for(lambda: _item(cloud, "sqs#slow"))
    # One sandbox would have finished the slow batch first.
    assert float(quick["done_at"]["S"]) < float(slow["done_at"]["S"])
    assert quick["pid"]["S"] != slow["pid"]["S"]


def test_reported_failure_is_redelivered_then_dead_lettered(cloud):
    sqs = cloud.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=cloud.physical_id("EchoQueue").rsplit("/", 1)[1])["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=cloud.physical_id("EchoDLQ").rsplit("/", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": "bad", "poison": True}))
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"id": "good"}))
    wait_for(lambda: _item(cloud, "sqs#good"))

    def dead_lettered():
        messages = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", [])
        return [m for m in messages if json.loads(m["Body"]).get("id") == "bad"]

    assert wait_for(dead_lettered, timeout_s=30)


def test_kinesis_records_delivered_in_order_and_poison_goes_to_failure_destination(cloud):
    kinesis = cloud.client("kinesis")
    stream = cloud.physical_id("EchoStream")
    for payload in ({"id": "k1"}, {"id": "k2", "poison": True}, {"id": "k3"}):
        kinesis.put_record(StreamName=stream, Data=json.dumps(payload).encode(), PartitionKey="p")
    wait_for(lambda: _item(cloud, "kinesis#k3"), timeout_s=30)
    assert _item(cloud, "kinesis#k1")
    poller = next(p for p in cloud.pollers if p.name == "kinesis:StreamFunction")
    assert poller.sent_to_failure_destination == 1


def test_killed_worker_cold_starts_on_next_call(cloud):
    before = json.loads(urllib.request.urlopen(cloud.api_url + "/echo/a").read())["pid"]
    cloud.runner.workers("HttpFunction")[0].kill()
    after = json.loads(urllib.request.urlopen(cloud.api_url + "/echo/b").read())["pid"]
    assert before != after
