"""DynamoDB throttling and EventBridge `PutEvents` partial failures in every service (issue 8,
faults 2), injected inside the local cloud's moto while the functions run unchanged in their
workers: each fault is retried (botocore, the shared publisher) or surfaced as a partial batch
failure and redelivered, and the counts reconcile end to end — nothing lost, nothing twice.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ml.nhl.simulator import simulate_game
from tests.hardening.faults import (
    BusTap,
    FaultPlan,
    dynamodb_throttling,
    emulator_app,
    put_events_partial_failures,
    queue_depth,
)
from tests.hardening.test_faults_killed_workers import (
    _endpoint_characters,
    pii_review_candidate,
    put_on_bus,
    traffic_detail,
)
from tests.polling import wait_for

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
UNDERCUT_RACE = json.loads(json.loads((ROOT / "events/race_predictor/post_messages_undercut_race.json").read_text())["body"])


def post(url: str, body: dict, attempts: int = 20) -> tuple[int, dict]:
    """POST JSON like a feed does: a 503 (contention) is retried after its Retry-After."""
    for _ in range(attempts):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code != 503:
                return error.code, json.loads(error.read() or b"{}")
            time.sleep(float(error.headers.get("Retry-After", "1")))
    raise AssertionError(f"{url} stayed busy")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_usage_consumer_under_throttling_and_failed_puts(cloud):
    endpoint = "hardening-faulty-usage"
    table = cloud.physical_id("CostUsageTable")
    tap = BusTap(cloud, "hardening-usage-faults")
    # Configured at 3 IU while the traffic (under 100 characters/s all along) needs 1: exactly one
    # rightsizing change, so exactly one event id to publish whatever the faults.
    details = [traffic_detail(endpoint, f"faulty-usage-{time.time_ns()}-{i}", 500 + i) for i in range(10)]
    for detail in details:
        detail["data"]["configured_inference_units"] = 3
    expected = sum(d["data"]["characters"] for d in details)
    throttled, dropped = FaultPlan(rate=0.35, seed=1), FaultPlan(rate=0.6, seed=2)
    with dynamodb_throttling(throttled, tables=lambda name: name == table), put_events_partial_failures(
            dropped, sources=lambda source: source == "pitwall.cost_calculator"):
        put_on_bus(cloud, "pitwall.endpoint_monitor", "EndpointTraffic", details)
        wait_for(lambda: queue_depth(cloud, "CostUsageQueue") == 0 and _endpoint_characters(cloud, endpoint) >= expected,
                 timeout_s=120, what="usage events applied under faults")
    assert throttled.injected > 0
    cloud.wait_until_drained()
    assert _endpoint_characters(cloud, endpoint) == expected
    assert queue_depth(cloud, "CostUsageDeadLetterQueue") == 0
    recommended = [d for d in tap.of_type("EndpointRightsizingRecommended") if d["data"]["endpoint_name"] == endpoint]
    assert len({d["event_id"] for d in recommended}) == 1, recommended
    tap.close()


def test_review_trigger_under_throttling_and_failed_puts(cloud):
    a2i = emulator_app(cloud, "a2i")
    tap = BusTap(cloud, "hardening-review-faults")
    loops_table, state_table = cloud.physical_id("ReviewLoopsTable"), cloud.physical_id("ReviewStateTable")
    before = set(a2i.loops)
    details = [pii_review_candidate(cloud, f"faulty-review-{time.time_ns()}", i) for i in range(5)]
    throttled, dropped = FaultPlan(rate=0.35, seed=3), FaultPlan(rate=0.6, seed=4)
    with dynamodb_throttling(throttled, tables=lambda name: name in (loops_table, state_table)), \
            put_events_partial_failures(dropped, sources=lambda source: source == "pitwall.human_review"):
        put_on_bus(cloud, "pitwall.pii_redaction", "PiiReviewCandidate", details)
        wait_for(lambda: len(set(a2i.loops) - before) == len(details) and queue_depth(cloud, "ReviewTriggerQueue") == 0,
                 timeout_s=120, what="a loop per review candidate under faults")
    assert throttled.injected > 0 and dropped.injected > 0
    started = set(a2i.loops) - before

    def requested_for_every_loop():
        seen = {d["data"]["human_loop_name"] for d in tap.of_type("HumanReviewRequested")}
        return started <= seen

    wait_for(requested_for_every_loop, timeout_s=60, what="HumanReviewRequested for every loop")
    assert len(started) == len(details)
    assert queue_depth(cloud, "ReviewTriggerDeadLetterQueue") == 0
    tap.close()


def test_race_api_under_throttling_and_failed_puts(cloud):
    race_id = f"hardening-faulty-{time.time_ns()}"
    table = cloud.physical_id("RaceStateTable")
    tap = BusTap(cloud, "hardening-race-faults")
    messages = UNDERCUT_RACE["messages"]
    # At most 3 failed entries in all: the shared publisher retries each failed entry 3 times, so
    # every one of them must get through on a retry (a 4th failure would leave it to the outbox).
    throttled, dropped = FaultPlan(rate=0.3, seed=5), FaultPlan(rate=0.5, seed=6, limit=3)
    answered: list[dict] = []
    with dynamodb_throttling(throttled, tables=lambda name: name == table), put_events_partial_failures(
            dropped, sources=lambda source: source == "pitwall.race_predictor"):
        for start in range(0, len(messages), 3):
            status, body = post(f"{cloud.api_url}/races/{race_id}/messages", {"messages": messages[start:start + 3]})
            assert status == 200, body
            answered += body["predictions"]
    assert throttled.injected > 0 and dropped.injected > 0
    assert answered, "the sample race opens a battle"

    def all_published():
        mine = [d for d in tap.of_type("PitBattlePredicted") if d["data"].get("race_id") == race_id]
        return mine if len(mine) >= len(answered) else None

    published = wait_for(all_published, timeout_s=30, what="every answered prediction on the bus")
    cloud.wait_until_drained()
    published = [d for d in tap.of_type("PitBattlePredicted") if d["data"].get("race_id") == race_id]
    assert len(published) == len(answered)
    assert len({d["event_id"] for d in published}) == len(published)
    tap.close()


def test_tracking_consumer_under_throttling(cloud):
    game = simulate_game(f"hardening-faulty-nhl-{time.time_ns() % 10**6}", seed=23, periods=1,
                         faceoffs_per_period=2, waive_out_rate=0.5)
    expected = [(f.dot, home, away) for f in game.faceoffs for home, away in f.setups]
    table = cloud.physical_id("RaceStateTable")
    tap = BusTap(cloud, "hardening-nhl-faults")
    throttled, dropped = FaultPlan(rate=0.3, seed=7), FaultPlan(rate=0.5, seed=8, limit=3)
    with dynamodb_throttling(throttled, tables=lambda name: name == table), put_events_partial_failures(
            dropped, sources=lambda source: source == "pitwall.race_predictor"):
        kinesis, stream = cloud.client("kinesis"), cloud.physical_id("NhlTrackingStream")
        records = [json.dumps(r).encode() for r in game.records]
        for start in range(0, len(records), 500):
            kinesis.put_records(StreamName=stream, Records=[{"Data": data, "PartitionKey": game.game_id}
                                                            for data in records[start:start + 500]])

        def predictions():
            mine = [d for d in tap.of_type("FaceoffPredicted") if d["data"]["game_id"] == game.game_id]
            return mine if len(mine) >= len(expected) else None

        wait_for(predictions, timeout_s=120, what="every face-off set-up predicted under faults")
    assert throttled.injected > 0
    cloud.wait_until_drained()
    mine = sorted((d for d in tap.of_type("FaceoffPredicted") if d["data"]["game_id"] == game.game_id),
                  key=lambda d: d["data"]["ts_ms"])
    assert [(d["data"]["dot"]["name"], d["data"]["home_player_id"], d["data"]["away_player_id"]) for d in mine] == expected
    tap.close()
