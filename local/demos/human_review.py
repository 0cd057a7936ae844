"""`make run` demo of human review: an unsure face-off prediction becomes a manifest line.

A `FaceoffPredicted` with confidence 0.21 (below the policy's 0.6) goes on the Pitwall bus; the rule
and queue bring it to the trigger function, which starts an A2I loop in the emulator. The demo
answers the loop over the emulator's HTTP API (as the reviewer page would), then waits for the
completion function to write the augmented-manifest part and reads it back from S3.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
WAIT_S = 60.0
ANSWER = "away-wins"


def _wait(what: str, probe: Callable[[], T | None], timeout_s: float = WAIT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"human review demo: no {what} after {timeout_s:.0f} s")
        time.sleep(0.25)


def _a2i_url(cloud: Any) -> str:
    url = getattr(cloud, "a2i_url", None)
    return str(url or cloud.emulators["a2i"].url)


def _put_prediction(cloud: Any) -> str:
    """Put an unsure face-off prediction on the Pitwall bus; return its event id."""
    event_id = f"demo-faceoff-{uuid.uuid4().hex[:12]}"
    # A FaceoffPredicted as race_predictor publishes it: confidence 0.21 means the takers' records
    # are thin (events/schemas/FaceoffPredicted.v1.json), below the faceoff policy's 0.6.
    data = {"game_id": "2023020204", "faceoff_seq": 17, "dot": {"name": "center", "x_ft": 0.0, "y_ft": 0.0, "zone": "N"},
            "home_player_id": 8478402, "away_player_id": 8471675, "home_win_probability": 0.54, "confidence": 0.21,
            "model_version": "nhl-faceoff-demo", "trigger": "set", "period": 2, "seconds_elapsed": 431.5,
            "ts_ms": int(time.time() * 1000)}
    detail = {"event_id": event_id, "correlation_id": event_id, "schema_version": "1",
              "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "data": data}
    response = cloud.client("events").put_events(Entries=[{
        "Source": "pitwall.race_predictor", "DetailType": "FaceoffPredicted", "Detail": json.dumps(detail),
        "EventBusName": cloud.physical_id("PitwallBus"),
    }])
    if response.get("FailedEntryCount"):
        raise RuntimeError(f"human review demo: prediction not accepted by the bus: {response['Entries']}")
    return event_id


def run_demo(cloud: Any) -> dict[str, Any]:
    """Play the scenario against a started local cloud; return what happened, for the summary table."""
    dynamodb, table = cloud.client("dynamodb"), cloud.physical_id("ReviewLoopsTable")
    record: dict[str, Any] | None = None
    for _ in range(2):
        event_id = _put_prediction(cloud)

        def loop_recorded(event_id: str = event_id) -> dict[str, Any] | None:
            # The loop name derives from the event id inside the service; the demo finds it by the id.
            items = dynamodb.scan(TableName=table, FilterExpression="source_event_id = :id AND #s <> :pending",
                                  ExpressionAttributeNames={"#s": "status"},
                                  ExpressionAttributeValues={":id": {"S": event_id}, ":pending": {"S": "Pending"}},
                                  ConsistentRead=True).get("Items", [])
            return items[0] if items else None

        record = _wait("human loop", loop_recorded, timeout_s=WAIT_S + 60)  # may wait for the next minute's ceiling
        if record["status"]["S"] != "Skipped":
            break
        # Other demos' predictions used this minute's loop ceiling: try again in the next minute.
        time.sleep(61 - time.gmtime().tm_sec)
    assert record is not None
    if record["status"]["S"] != "InProgress":
        raise RuntimeError(f"human review demo: the loop is {record['status']['S']}, not InProgress")
    name = record["human_loop_name"]["S"]
    started = cloud.client("sagemaker-a2i-runtime").describe_human_loop(HumanLoopName=name)

    request = urllib.request.Request(  # noqa: S310 - the emulator's local http URL
        f"{_a2i_url(cloud)}/review/api/loops/{name}/answer", method="POST",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"answerContent": {"category": {"label": ANSWER}}, "workerId": "demo-reviewer"}).encode(),
    )
    with urllib.request.urlopen(request, timeout=10) as answered:  # noqa: S310
        output_uri = json.loads(answered.read())["outputS3Uri"]

    s3 = cloud.client("s3")
    bucket = cloud.physical_id("ReviewManifestsBucket")
    key = f"manifests/parts/faceoff-winner/{name}.jsonl"

    def part_written() -> str | None:
        try:
            return str(s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
        except s3.exceptions.NoSuchKey:
            return None

    line = json.loads(_wait("manifest part in S3", part_written))
    item = dynamodb.get_item(TableName=table, Key={"human_loop_name": {"S": name}}, ConsistentRead=True).get("Item", {})
    return {
        "prediction": "FaceoffPredicted home_win_probability 0.54, confidence 0.21 (< 0.6) → review",
        "human loop": f"{name} ({started['HumanLoopStatus']} at start)",
        "answer (through the emulator)": ANSWER,
        "A2I output.json": output_uri,
        "loop record": f"status {item.get('status', {}).get('S')}, corrected label "
                       f"{item.get('corrected_label', {}).get('S')}",
        "manifest part": f"s3://{bucket}/{key}",
        "manifest line": line,
    }
