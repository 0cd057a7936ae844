"""A function's sandbox killed in the middle of a batch (issue 8, faults 3): the event source
redelivers the batch to a cold sandbox and idempotency keeps every side effect single — one human
loop per review candidate, usage counted once, one FaceoffPredicted per face-off set-up.

Each test slows one dependency so the batch is long enough in time to be killed after some of its
side effects happened and before the sandbox answered, then checks the kill did land mid-batch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from moto.dynamodb import responses as dynamodb_responses
from moto.events import models as events_models

from ml.nhl.simulator import simulate_game
from tests.hardening.faults import BusTap, SandboxKiller, emulator_app, queue_depth, slowed
from tests.polling import wait_for

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
PII_TEXT = "Ask Casey Marlowe at the paddock gate"
PII_SPAN = {"begin_offset": 4, "end_offset": 17, "type": "NAME", "score": 0.6}  # "Casey Marlowe"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pii_review_candidate(cloud, tag: str, i: int) -> dict:
    """A PiiReviewCandidate detail (a kind of review that starts loops; forecasts no longer do), its
    task object written to the raw-PII bucket first, as pii_redaction does."""
    bucket, key = cloud.physical_id("PiiRawBucket"), f"pii-review/{tag}-{i}.json"
    task = {"text": PII_TEXT, "spans": [PII_SPAN], "field": "Tweet1", "record_id": f"{tag}-{i}"}
    cloud.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(task).encode())
    data = {"record_id": f"{tag}-{i}", "field": "Tweet1", "task_object": f"s3://{bucket}/{key}",
            "spans": [PII_SPAN], "detected_at": now_iso()}
    return {"event_id": f"hardening:{tag}:{i}", "correlation_id": f"corr-{tag}-{i}", "occurred_at": now_iso(),
            "schema_version": "1", "data": data}


def put_on_bus(cloud, source: str, detail_type: str, details: list[dict]) -> None:
    events, bus = cloud.client("events"), cloud.physical_id("PitwallBus")
    for start in range(0, len(details), 10):
        answer = events.put_events(Entries=[{"Source": source, "DetailType": detail_type, "Detail": json.dumps(d),
                                             "EventBusName": bus} for d in details[start:start + 10]])
        assert answer["FailedEntryCount"] == 0


def test_trigger_killed_mid_batch_starts_each_loop_once(cloud):
    a2i = emulator_app(cloud, "a2i")
    tap = BusTap(cloud, "hardening-kill-trigger")
    before = set(a2i.loops)
    details = [pii_review_candidate(cloud, "kill-trigger", i) for i in range(6)]
    new_loops = lambda: set(a2i.loops) - before  # noqa: E731
    at_kill: list[int] = []

    def two_loops_started() -> bool:
        started = len(new_loops())
        if started >= 2:
            at_kill.append(started)
        return started >= 2

    with slowed(a2i, "start_human_loop", 0.3):
        killer = SandboxKiller(cloud, "ReviewTriggerFunction", two_loops_started).start()
        put_on_bus(cloud, "pitwall.pii_redaction", "PiiReviewCandidate", details)
        killer.join()
        assert killer.killed_pids, "the trigger's sandbox was never killed"
        assert at_kill[0] < len(details), "the kill landed after the batch, not in it"
        wait_for(lambda: len(new_loops()) == len(details) and queue_depth(cloud, "ReviewTriggerQueue") == 0,
                 timeout_s=90, what="every candidate handled after the kill")

    assert len(new_loops()) == len(details)
    loops_table = cloud.client("dynamodb")
    for name in new_loops():
        item = loops_table.get_item(TableName=cloud.physical_id("ReviewLoopsTable"),
                                    Key={"human_loop_name": {"S": name}}).get("Item")
        assert item is not None, f"loop {name} started but not recorded"
    requested = wait_for(lambda: [d for d in tap.of_type("HumanReviewRequested")
                                  if d["data"].get("human_loop_name") in new_loops()] or None,
                         what="HumanReviewRequested events")
    cloud.wait_until_drained()  # not a sleep: nothing is left in flight when the count is taken
    requested = [d for d in tap.of_type("HumanReviewRequested") if d["data"].get("human_loop_name") in new_loops()]
    assert {d["data"]["human_loop_name"] for d in requested} == new_loops()
    # One event id per loop; a redelivery may only repeat an id, never mint a new one.
    assert len({d["event_id"] for d in requested}) == len(details)
    tap.close()


def _endpoint_characters(cloud, endpoint: str) -> int:
    answer = cloud.client("dynamodb").query(
        TableName=cloud.physical_id("CostUsageTable"), KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
        ExpressionAttributeValues={":pk": {"S": f"ENDPOINT#{endpoint}"}, ":m": {"S": "MINUTE#"}})
    return sum(int(item["characters"]["N"]) for item in answer["Items"])


def traffic_detail(endpoint: str, event_id: str, characters: int) -> dict:
    return {"event_id": event_id, "correlation_id": event_id, "occurred_at": now_iso(), "schema_version": "1",
            "data": {"endpoint_name": endpoint, "observed_at": now_iso(), "characters": characters, "requests": 3}}


def test_usage_consumer_killed_mid_batch_counts_each_event_once(cloud):
    endpoint = "hardening-kill-usage"
    details = [traffic_detail(endpoint, f"kill-usage-{i}", 1000 + i) for i in range(8)]
    expected = sum(d["data"]["characters"] for d in details)
    seen_at_kill: list[int] = []

    def some_counted() -> bool:
        counted = _endpoint_characters(cloud, endpoint)
        if counted >= 2000:
            seen_at_kill.append(counted)
        return counted >= 2000

    with slowed(dynamodb_responses.DynamoHandler, "transact_write_items", 0.25):
        killer = SandboxKiller(cloud, "CostUsageConsumerFunction", some_counted).start()
        put_on_bus(cloud, "pitwall.endpoint_monitor", "EndpointTraffic", details)
        killer.join()
        assert killer.killed_pids, "the usage consumer's sandbox was never killed"
        assert seen_at_kill[0] < expected, "the kill landed after the batch, not in it"
        wait_for(lambda: queue_depth(cloud, "CostUsageQueue") == 0 and _endpoint_characters(cloud, endpoint) >= expected,
                 timeout_s=90, what="every usage event applied after the kill")
    cloud.wait_until_drained()
    assert _endpoint_characters(cloud, endpoint) == expected


def test_tracking_consumer_killed_mid_batch_publishes_each_setup_once(cloud):
    game = simulate_game("hardening-kill-nhl", seed=11, periods=1, faceoffs_per_period=3, waive_out_rate=0.5)
    expected = [(f.dot, home, away) for f in game.faceoffs for home, away in f.setups]
    tap = BusTap(cloud, "hardening-kill-nhl")
    sqs = cloud.client("sqs")

    def first_prediction_published() -> bool:
        attributes = sqs.get_queue_attributes(QueueUrl=tap.queue_url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"]) >= 1

    with slowed(events_models.EventsBackend, "put_events", 0.2):
        killer = SandboxKiller(cloud, "NhlTrackingFunction", first_prediction_published).start()
        kinesis, stream = cloud.client("kinesis"), cloud.physical_id("NhlTrackingStream")
        records = [json.dumps(r).encode() for r in game.records]
        for start in range(0, len(records), 500):
            kinesis.put_records(StreamName=stream, Records=[{"Data": data, "PartitionKey": game.game_id}
                                                            for data in records[start:start + 500]])
        killer.join()
        assert killer.killed_pids, "the tracking consumer's sandbox was never killed"

        def predictions():
            mine = [d for d in tap.of_type("FaceoffPredicted") if d["data"]["game_id"] == game.game_id]
            return mine if len(mine) >= len(expected) else None

        wait_for(predictions, timeout_s=120, what="every face-off set-up predicted after the kill")
    cloud.wait_until_drained()
    mine = sorted((d for d in tap.of_type("FaceoffPredicted") if d["data"]["game_id"] == game.game_id),
                  key=lambda d: d["data"]["ts_ms"])
    assert [(d["data"]["dot"]["name"], d["data"]["home_player_id"], d["data"]["away_player_id"]) for d in mine] == expected
    assert len({d["event_id"] for d in mine}) == len(mine)
    tap.close()
