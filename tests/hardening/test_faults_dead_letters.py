"""Poison messages and dead-letter queues (issue 8, faults 4): a message that keeps failing reaches
its queue's DLQ after the template's `maxReceiveCount`, and never blocks the messages behind it; a
batch of messages that failed while a dependency was broken goes back with `python -m local.redrive`
once it is fixed, and is applied exactly once."""

from __future__ import annotations

import json
import time

import pytest

from local.provision import load_template
from local.redrive import main as redrive_main
from tests.hardening.conftest import ROOT
from tests.hardening.faults import AccessDenied, FaultPlan, dynamodb_throttling, queue_depth
from tests.hardening.test_faults_killed_workers import _endpoint_characters, put_on_bus, traffic_detail
from tests.polling import wait_for

pytestmark = pytest.mark.system

TEMPLATE = load_template(ROOT / "template.yaml")["Resources"]
# Each SQS consumer queue and its dead-letter queue, as template.yaml wires them.
QUEUES = {
    name: resource["Properties"]["RedrivePolicy"]
    for name, resource in TEMPLATE.items()
    if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
}
POISON = {"version": "0", "id": "poison", "detail-type": "Unknown", "source": "hardening", "detail": {"oops": True}}


def _dead_letter_id(redrive_policy: dict) -> str:
    return redrive_policy["deadLetterTargetArn"]["Fn::GetAtt"][0]


def _messages(cloud, logical_id: str) -> list[dict]:
    return cloud.client("sqs").receive_message(
        QueueUrl=cloud.physical_id(logical_id), MaxNumberOfMessages=10, VisibilityTimeout=1,
        MessageSystemAttributeNames=["All"]).get("Messages", [])


def test_every_consumer_queue_has_a_dead_letter_queue():
    consumers = {event["Properties"]["Queue"]["Fn::GetAtt"][0]
                 for resource in TEMPLATE.values() if resource["Type"] == "AWS::Serverless::Function"
                 for event in (resource["Properties"].get("Events") or {}).values() if event["Type"] == "SQS"}
    assert consumers and consumers <= set(QUEUES)
    for name in consumers:
        assert 1 < int(QUEUES[name]["maxReceiveCount"]) <= 10, name


def test_poison_messages_reach_each_dead_letter_queue_after_max_receive_count(cloud):
    sqs = cloud.client("sqs")
    marker = f"poison-{time.time_ns()}"
    for name in QUEUES:
        sqs.send_message(QueueUrl=cloud.physical_id(name), MessageBody=json.dumps({**POISON, "id": marker}))
    # A good message behind the poison still goes through at once.
    endpoint = "hardening-behind-poison"
    put_on_bus(cloud, "pitwall.endpoint_monitor", "EndpointTraffic", [traffic_detail(endpoint, f"{marker}-ok", 777)])
    wait_for(lambda: _endpoint_characters(cloud, endpoint) == 777, timeout_s=30, what="the good message applied")

    for name, policy in QUEUES.items():
        dead_letter = _dead_letter_id(policy)

        def arrived(dead_letter=dead_letter):
            return [m for m in _messages(cloud, dead_letter) if json.loads(m["Body"]).get("id") == marker]

        [message] = wait_for(arrived, timeout_s=90, interval_s=0.5, what=f"the poison message in {dead_letter}")
        assert int(message["Attributes"]["ApproximateReceiveCount"]) >= int(policy["maxReceiveCount"])
        sqs.delete_message(QueueUrl=cloud.physical_id(dead_letter), ReceiptHandle=message["ReceiptHandle"])
        assert queue_depth(cloud, name) == 0, f"{name} still holds messages"


def test_failed_batch_is_redriven_once_the_cause_is_fixed(cloud, capsys):
    endpoint = "hardening-redrive"
    details = [traffic_detail(endpoint, f"redrive-{time.time_ns()}-{i}", 100 + i) for i in range(5)]
    usage_table = cloud.physical_id("CostUsageTable")
    broken = FaultPlan(rate=1.0)
    # A deploy that lost the consumer's write permission: every delivery fails, nothing is retried
    # by botocore, and after maxReceiveCount receives each message sits in the DLQ.
    with dynamodb_throttling(broken, operations=("transact_write_items",), tables=lambda t: t == usage_table,
                             error=AccessDenied):
        put_on_bus(cloud, "pitwall.endpoint_monitor", "EndpointTraffic", details)
        wait_for(lambda: queue_depth(cloud, "CostUsageDeadLetterQueue") == len(details), timeout_s=90,
                 interval_s=0.5, what="the failed usage events in the DLQ")
        assert queue_depth(cloud, "CostUsageQueue") == 0
    assert broken.injected >= len(details) * int(QUEUES["CostUsageQueue"]["maxReceiveCount"])
    assert _endpoint_characters(cloud, endpoint) == 0

    assert redrive_main(["CostUsageDeadLetterQueue", "--endpoint", cloud.moto_url]) == 0
    assert f"moved {len(details)} message(s)" in capsys.readouterr().out
    expected = sum(d["data"]["characters"] for d in details)
    wait_for(lambda: _endpoint_characters(cloud, endpoint) == expected and queue_depth(cloud, "CostUsageQueue") == 0,
             timeout_s=30, what="the redriven events applied")
    assert queue_depth(cloud, "CostUsageDeadLetterQueue") == 0
    # A second redrive of an already-applied event (say, the DLQ copy was kept) adds nothing.
    put_on_bus(cloud, "pitwall.endpoint_monitor", "EndpointTraffic", details[:2])
    wait_for(lambda: queue_depth(cloud, "CostUsageQueue") == 0, timeout_s=30, what="duplicates consumed")
    cloud.wait_until_drained()
    assert _endpoint_characters(cloud, endpoint) == expected
