"""NHL face-offs end to end through the local cloud: a simulated game (with a malformed record) put on
NhlTrackingStream is consumed by NhlTrackingFunction in its worker; every set-up is published once
as FaceoffPredicted on the bus, the malformed record ends in the failure queue, and the current
prediction is served by the API through the local API Gateway."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from local.cloud import LocalCloud
from local.demos.race_nhl import _drain, _listen
from ml.nhl.simulator import simulate_game
from tests.contracts import assert_valid_event

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with LocalCloud(ROOT / "template.yaml", log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_tracking_stream_to_published_faceoff_predictions(cloud):
    game = simulate_game("sys-nhl-1", seed=77, periods=1, faceoffs_per_period=3, waive_out_rate=0.5)
    queue_url = _listen(cloud)
    records = [json.dumps(r).encode() for r in game.records]
    records.insert(len(records) // 2, b'{"type": "position", "game_id": "sys-nhl-1", "ts_ms": "soon"}')
    kinesis = cloud.client("kinesis")
    stream = cloud.physical_id("NhlTrackingStream")
    for start in range(0, len(records), 500):
        kinesis.put_records(StreamName=stream, Records=[{"Data": data, "PartitionKey": "sys-nhl-1"}
                                                        for data in records[start:start + 500]])
    expected = [(f.dot, home, away) for f in game.faceoffs for home, away in f.setups]
    seen: list[dict] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(seen) < len(expected):
        seen += _drain(cloud, queue_url)
        time.sleep(0.5)
    cloud.wait_until_drained()
    seen += _drain(cloud, queue_url)
    got = sorted(seen, key=lambda detail: detail["data"]["ts_ms"])
    assert [(d["data"]["dot"]["name"], d["data"]["home_player_id"], d["data"]["away_player_id"]) for d in got] == expected
    for detail in got:
        assert_valid_event("FaceoffPredicted", detail)

    sqs = cloud.client("sqs")
    failure_queue = cloud.physical_id("NhlTrackingFailureQueue")
    failures = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not failures:
        failures = sqs.receive_message(QueueUrl=failure_queue, MaxNumberOfMessages=10).get("Messages", [])
        time.sleep(0.5)
    assert failures, "the malformed record never reached the on-failure destination"

    with urllib.request.urlopen(f"{cloud.api_url}/games/sys-nhl-1/faceoff", timeout=60) as response:  # noqa: S310
        view = json.loads(response.read())
    assert view["prediction"]["home_player_id"] == expected[-1][1]
    assert view["phase"] == "final"
