"""Benchmark of the NHL face-off consumer: throughput with state persisted, records per prediction,
trigger-to-publish latency, and inference time of the shipped ONNX model beside native LightGBM.

Runs the real stream code (Powertools batch, DynamoDB state store, ledger, player stats, EventBridge
publisher) against moto in-process, one core, on a simulated game streamed in Kinesis-sized batches.

    .venv/bin/python bench/race_predictor_nhl.py [--batch 100] [--periods 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "shared", ROOT / "services" / "race_predictor"):
    sys.path.insert(0, str(folder))

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pitwall")

import boto3  # noqa: E402
import numpy as np  # noqa: E402
from moto import mock_aws  # noqa: E402


def kinesis_event(records: list[dict], first_sequence: int) -> dict:
    return {"Records": [{
        "eventSource": "aws:kinesis", "eventID": f"shardId-000:{first_sequence + k}",
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["game_id"],
                    "sequenceNumber": str(first_sequence + k), "approximateArrivalTimestamp": 1.0,
                    "data": base64.b64encode(json.dumps(r).encode()).decode()}} for k, r in enumerate(records)]}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def bench_consumer(batch: int, periods: int) -> None:
    from ml.nhl.simulator import simulate_game
    from pitwall_shared.publisher import EventPublisher
    from race_predictor.adapters.dynamodb import DynamoPublishLedger, DynamoStateStore
    from race_predictor.adapters.player_stats import DynamoPlayerStats
    from race_predictor.handlers import process_tracking_event
    from race_predictor.logic.nhl.predictor import FaceoffModel
    from race_predictor.logic.nhl.service import NhlService, state_key

    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName="state", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                {"AttributeName": "sk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                     {"AttributeName": "sk", "KeyType": "RANGE"}])
    dynamodb.create_table(TableName="stats", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "player_id", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "player_id", "KeyType": "HASH"}])
    events = boto3.client("events")
    events.create_event_bus(Name="bus")
    service = NhlService(store=DynamoStateStore("state", dynamodb), ledger=DynamoPublishLedger("state", dynamodb),
                         publisher=EventPublisher(source="pitwall.race_predictor", bus_name="bus", events_client=events),
                         stats=DynamoPlayerStats("stats", dynamodb), model=FaceoffModel())

    game = simulate_game("bench-1", seed=42, periods=periods, faceoffs_per_period=8)
    records = game.records
    span_s = (max(r.get("ts_ms", 0) for r in records) - min(r.get("ts_ms", 0) for r in records[1:])) / 1000
    real_time_rate = len(records) / span_s
    latencies: list[float] = []
    published = 0
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        t0 = time.perf_counter()
        _, report = process_tracking_event(kinesis_event(records[start:start + batch], start + 1), service)
        if report.published:
            # The triggering record waits at most for its whole batch: batch start -> publish returned.
            latencies.append((time.perf_counter() - t0) * 1000)
            published += len(report.published)
    elapsed = time.perf_counter() - started
    body = service.store.load(state_key("bench-1")).body
    assert body is not None
    in_stoppage = body["game"]["counts"].get("positions_in_stoppage", 0)
    rate = len(records) / elapsed
    print(f"simulated game: {len(records)} tracking records over {span_s:.0f} s of tracking "
          f"({real_time_rate:.1f} records/s real time), {len(game.faceoffs)} face-offs, batch {batch}")
    print(f"consumer throughput (state, ledger, stats in DynamoDB/moto; EventBridge/moto): {rate:.0f} records/s "
          f"= {rate / real_time_rate:.1f}x this game's real-time rate, {rate / 60:.1f}x the contract's 60 records/s "
          "(target >= 20x)")
    print(f"tracking records in stoppages: {in_stoppage}; predictions published: {published}; "
          f"ratio {in_stoppage / max(published, 1):.0f} (target >= 100)")
    print(f"triggering record -> published event: p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms over {len(latencies)} publishing batches")


def bench_inference() -> None:
    import lightgbm as lgb
    import onnxruntime as ort

    from race_predictor.logic.nhl.predictor import MANIFEST

    booster = lgb.Booster(model_file=str(ROOT / "ml" / "nhl" / "nhl_faceoff_lgbm.txt"))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(MANIFEST.parent / "nhl_faceoff.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    rng = np.random.default_rng(0)
    rows = rng.uniform(0.4, 0.6, size=(64, 17)).astype(np.float32)

    def timed(fn, repeat: int) -> float:
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples) * 1e6

    one = rows[:1]
    onnx_single = timed(lambda: session.run(["probabilities"], {name: one}), 500)
    lgb_single = timed(lambda: booster.predict(one.astype(np.float64), num_threads=1), 500)
    onnx_group = timed(lambda: session.run(["probabilities"], {name: rows[:8]}), 300)
    lgb_group = timed(lambda: booster.predict(rows[:8].astype(np.float64), num_threads=1), 300)
    print(f"inference, 1 row: ONNX Runtime {onnx_single:.0f} us, native LightGBM {lgb_single:.0f} us "
          f"({lgb_single / onnx_single:.1f}x)")
    print(f"inference, 8 rows in one call: ONNX Runtime {onnx_group:.0f} us ({onnx_group / 8:.0f} us/row), "
          f"native LightGBM {lgb_group:.0f} us ({lgb_group / onnx_group:.1f}x); "
          f"grouped vs 8 single ONNX calls: {8 * onnx_single / onnx_group:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--periods", type=int, default=3)
    args = parser.parse_args()
    with mock_aws():
        bench_consumer(args.batch, args.periods)
    bench_inference()


if __name__ == "__main__":
    main()
