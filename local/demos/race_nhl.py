"""Demo of the NHL face-off predictor: a simulated game streamed into the local Kinesis stream.

Puts the tracking records of one simulated period on `NhlTrackingStream` (partition key game_id),
lets the local Kinesis poller feed `NhlTrackingFunction`, and collects the FaceoffPredicted events
from the bus through a demo-only rule and queue; returns the face-offs with their predictions and
how many tracking records led to how many published predictions.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from ml.nhl.simulator import default_lineup, simulate_game

PUT_RECORDS_LIMIT = 500  # Kinesis PutRecords quota per call
# Real NHL ids (2023-24 Bruins at home, Maple Leafs away; centres first, as the simulator expects),
# so that the loaded player stats make the predictions differ from a coin flip.
HOME_IDS = [8475745, 8478401, 8481556, 8483505, 8479987, 8479365, 8477887, 8478046]
AWAY_IDS = [8475166, 8479318, 8480144, 8483489, 8480995, 8477503, 8475714, 8479393]


# Face-off files with player ids and names, newest first (the demo's players are 2023-24 ones),
# as (file, ((id column, name column), ...)).
_NAME_SOURCES = (
    ("faceoffs_2021_2023_early_pbp.csv", (("event_player_1_id", "event_player_1_name"),
                                          ("event_player_2_id", "event_player_2_name"))),
    ("faceoffs_2017_2020_pbp.csv", (("p1_ID", "p1_name"), ("p2_ID", "p2_name"))),
)


def _display_name(raw: str) -> str | None:
    """"NAZEM KADRI" -> "Nazem Kadri"; "J.T..Miller" -> "J.T. Miller" (mixed case kept: McDavid)."""
    name = raw.strip()
    if name and " " not in name and "." in name:
        first, last = name.rsplit(".", 1)  # the newer file joins first and last name with a dot
        name = f"{first} {last}".strip()
    if name.isupper():
        name = name.title()
    return name[:64] or None


def player_names(nhl_dir: Path | None, ids: list[int]) -> dict[int, str]:
    """Names of `ids` from the shared face-off files; stops reading as soon as all are found.

    Streams the CSVs row by row (they are tens of MB) and returns {} when the data is absent.
    """
    wanted, names = set(ids), {}
    for file_name, columns in _NAME_SOURCES:
        path = nhl_dir / file_name if nhl_dir is not None else None
        if path is None or not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for id_column, name_column in columns:
                    try:
                        pid = int(float(row.get(id_column) or 0))
                    except ValueError:
                        continue
                    if pid in wanted and pid not in names:
                        name = _display_name(row.get(name_column) or "")
                        if name:
                            names[pid] = name
                if len(names) == len(wanted):
                    return names
    return names


def _load_stats(cloud: Any, data: Path | None) -> int:
    """Load the demo players' records from the shared data (the loader command, restricted to them)."""
    if data is None or not (data / "nhl").is_dir():
        return 0
    from ml.nhl.load_player_stats import player_records
    from race_predictor.adapters.player_stats import DynamoPlayerStats

    wanted = {str(pid) for pid in HOME_IDS + AWAY_IDS}
    records = [r for r in player_records(data / "nhl") if r.player_id in wanted]
    table = cloud.physical_id("NhlPlayerStatsTable")
    return DynamoPlayerStats(table, cloud.client("dynamodb")).load_all(records)


def _listen(cloud: Any) -> str:
    sqs, events = cloud.client("sqs"), cloud.client("events")
    queue_url = sqs.create_queue(QueueName="demo-nhl-faceoff-predictions")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = cloud.physical_id("PitwallBus")
    events.put_rule(Name="demo-nhl-faceoff-predictions", EventBusName=bus,
                    EventPattern=json.dumps({"detail-type": ["FaceoffPredicted"]}))
    events.put_targets(Rule="demo-nhl-faceoff-predictions", EventBusName=bus,
                       Targets=[{"Id": "demo", "Arn": queue_arn}])
    return str(queue_url)


def _drain(cloud: Any, queue_url: str) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"])["detail"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _paced_chunks(records: list[dict[str, Any]], window_ms: int = 1000) -> list[list[dict[str, Any]]]:
    """Records grouped by second of game time (and at most one PutRecords call each)."""
    chunks: list[list[dict[str, Any]]] = []
    for record in records:
        window = record.get("ts_ms", 0) // window_ms
        if chunks and len(chunks[-1]) < PUT_RECORDS_LIMIT and chunks[-1][0].get("ts_ms", 0) // window_ms == window:
            chunks[-1].append(record)
        else:
            chunks.append([record])
    return chunks


def run_demo(cloud: Any, options: Any = None) -> dict[str, Any]:
    game_id = getattr(options, "game", None) or "demo-nhl-1"
    data = getattr(options, "data", None)
    loaded = _load_stats(cloud, data)
    names = player_names(data / "nhl" if data is not None else None, HOME_IDS + AWAY_IDS)
    game = simulate_game(game_id, seed=2024, periods=1, faceoffs_per_period=6, waive_out_rate=0.4,
                         lineup=default_lineup(HOME_IDS, AWAY_IDS, names))
    queue_url = _listen(cloud)
    kinesis, stream = cloud.client("kinesis"), cloud.physical_id("NhlTrackingStream")
    speed = float(getattr(options, "speed", 0.0) or 0.0)
    progress = getattr(options, "progress", None)
    bar = progress.stream("NHL tracking records", total=len(game.records)) if progress else None
    poller = next((p for p in getattr(cloud, "pollers", []) if p.name == "kinesis:NhlTrackingFunction"), None)
    delivered_before = poller.delivered if poller else 0
    predictions: list[dict[str, Any]] = []
    started = time.monotonic()
    first_ts = game.records[0].get("ts_ms", 0) if game.records else 0
    for chunk in _paced_chunks(game.records):
        if speed > 0:  # live-looking: each second of game time arrives after 1/speed s
            due = (chunk[-1].get("ts_ms", first_ts) - first_ts) / 1000.0 / speed
            time.sleep(max(0.0, due - (time.monotonic() - started)))
        kinesis.put_records(StreamName=stream, Records=[
            {"Data": json.dumps(r).encode(), "PartitionKey": r["game_id"]} for r in chunk])
        if bar is not None:
            bar.sent(len(chunk))
            if poller is not None:
                bar.processed(poller.delivered - delivered_before - bar.processed_count)
        predictions += _drain(cloud, queue_url)
    expected = sum(len(f.setups) for f in game.faceoffs)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(predictions) < expected:
        predictions += _drain(cloud, queue_url)
        if bar is not None and poller is not None:
            bar.processed(poller.delivered - delivered_before - bar.processed_count)
        time.sleep(0.5)
    if bar is not None and poller is not None:
        bar.processed(poller.delivered - delivered_before - bar.processed_count)
    time.sleep(1.0)
    predictions += _drain(cloud, queue_url)  # anything late would be a duplicate: count it
    rows = [{"faceoff": p["data"]["faceoff_seq"], "dot": p["data"]["dot"]["name"],
             "home": p["data"]["home_player_id"], "away": p["data"]["away_player_id"],
             "home_name": p["data"].get("home_player_name"), "away_name": p["data"].get("away_player_name"),
             "trigger": p["data"]["trigger"], "home_win_probability": p["data"]["home_win_probability"]}
            for p in sorted(predictions, key=lambda d: d["data"]["ts_ms"])]
    return {
        "player_records_loaded": loaded,
        "tracking_records": len(game.records),
        "faceoffs_simulated": len(game.faceoffs),
        "setups_expected": expected,
        "predictions_published": len(predictions),
        "duplicate_predictions": len(predictions) - len({p["event_id"] for p in predictions}),
        "predictions": rows,
    }
