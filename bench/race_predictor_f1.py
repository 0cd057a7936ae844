"""Benchmark of the F1 pit-battle path (prints figures, asserts nothing on time).

    .venv/bin/python bench/race_predictor_f1.py [--race 2023:9] [--extras]

Issue 17: replays a whole long race from the shared data (default 2023 round 9, Austria, 71 laps)
through the local cloud's API Gateway, one POST per lap (every message of that lap; race_start with
lap 1, race_end with the last), one POST at a time, and prints per bucket of ten laps: the race's
state item size (KB), the DynamoDB read and write capacity units one POST consumed in all (computed
from the items each request read and wrote with DynamoDB's rounding, `local/dynamodb_capacity.py`;
moto's own ConsumedCapacity is a flat 0.5 / 1.0 per call), the domain time (the same POSTs through
`F1Service` with in-memory ports that still encode and decode the stored bodies as the DynamoDB
adapter does: everything but the AWS round trips) and the end-to-end POST latency; then lap 5 beside
lap 60 and p50 / p99 over the race.

`--extras`: the older figures too: ONNX vs native XGBoost inference, cold start, package size, and a
simulated race's POST p50 / p99 through the gateway and in process.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "services" / "race_predictor")]

# In the Lambda Python runtime already (not counted in the package).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lap_bodies(laps: int) -> tuple[dict, list[dict]]:
    """(race_start body, one body of 20 lap_completed + pit messages per lap) from the simulator."""
    from ml.f1.simulator import simulate_race

    messages = simulate_race(seed=5, laps=max(laps, 12))
    start = {"messages": [m for m in messages if m["type"] == "race_start"]}
    bodies: list[dict] = []
    for lap in range(1, laps + 1):
        batch = [m for m in messages if m.get("lap") == lap and m["type"] in ("lap_completed", "pit_in", "pit_out")]
        bodies.append({"messages": batch})
    return start, bodies


def bench_http(laps: int) -> dict[str, float]:
    from chalice.test import Client

    from local.cloud import LocalCloud, Ports
    from ml.f1.replay import http_json

    start, bodies = lap_bodies(laps)
    cloud = LocalCloud(ports=Ports(moto=0, api=0, comprehend=0, firehose=0, a2i=0, dashboard=0))
    with cloud:
        url = cloud.api_url
        http_json("POST", f"{url}/races/bench-http/messages", start)  # cold start outside the figures
        through_gateway = []
        for body in bodies:
            t0 = time.perf_counter()
            status, _ = http_json("POST", f"{url}/races/bench-http/messages", body)
            through_gateway.append((time.perf_counter() - t0) * 1000)
            assert status == 200, status
        # the same handler in this process, against the same moto DynamoDB and bus
        os.environ.update({"AWS_ENDPOINT_URL": cloud.moto_url, "AWS_DEFAULT_REGION": "us-east-1",
                           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                           "RACE_STATE_TABLE_NAME": cloud.physical_id("RaceStateTable"),
                           "EVENT_BUS_NAME": cloud.physical_id("PitwallBus"), "POWERTOOLS_LOG_LEVEL": "WARNING"})
        from race_predictor import api

        in_process = []
        with Client(api.app) as client:
            client.http.post("/races/bench-local/messages", headers={"Content-Type": "application/json"},
                             body=json.dumps(start))
            for body in bodies:
                t0 = time.perf_counter()
                response = client.http.post("/races/bench-local/messages",
                                            headers={"Content-Type": "application/json"}, body=json.dumps(body))
                in_process.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200
    return {"gateway_p50_ms": statistics.median(through_gateway), "gateway_p99_ms": percentile(through_gateway, 0.99),
            "in_process_p50_ms": statistics.median(in_process), "in_process_p99_ms": percentile(in_process, 0.99),
            "messages_per_post": statistics.mean(len(b["messages"]) for b in bodies)}


def bench_inference() -> dict[str, float]:
    import numpy as np
    import xgboost as xgb

    from race_predictor.logic.f1.features import FEATURE_NAMES
    from race_predictor.logic.f1.predictor import TreePitBattlePredictor

    artifacts = ROOT / "ml" / "f1" / "artifacts"
    classifier, regressor = xgb.XGBClassifier(), xgb.XGBRegressor()
    classifier.load_model(artifacts / "f1_pit_battle_swap.xgb.json")
    regressor.load_model(artifacts / "f1_pit_battle_gap.xgb.json")
    classifier.set_params(n_jobs=1)
    regressor.set_params(n_jobs=1)
    predictor = TreePitBattlePredictor.load()
    rng = np.random.default_rng(1)
    batch = (rng.normal(size=(1000, len(FEATURE_NAMES))) * 5).astype(np.float32)
    row = batch[:1]

    def timed(fn, repeat: int) -> float:
        fn()
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - t0) / repeat * 1e6  # microseconds

    onnx_single = timed(lambda: predictor.predict(row.tolist()), 2000)
    native_single = timed(lambda: (classifier.predict_proba(row), regressor.predict(row)), 300)
    onnx_batch = timed(lambda: predictor.predict(batch), 50)
    native_batch = timed(lambda: (classifier.predict_proba(batch), regressor.predict(batch)), 20)
    return {"onnx_single_us": onnx_single, "xgboost_single_us": native_single,
            "single_speedup": native_single / onnx_single,
            "onnx_batch1000_us": onnx_batch, "xgboost_batch1000_us": native_batch,
            "batch_speedup": native_batch / onnx_batch}


def bench_cold_start(runs: int = 3) -> dict[str, float]:
    code = ("import time; t = time.perf_counter(); import race_predictor.api; "
            "print((time.perf_counter() - t) * 1000)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "shared"), str(ROOT / "services" / "race_predictor")])}
    figures = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        figures.append(float(out.stdout.strip().splitlines()[-1]))
    return {"cold_start_import_and_model_ms_median": statistics.median(figures), "cold_start_runs": runs}


def _closure(names: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen or key in RUNTIME_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(key)
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            todo.append(requirement.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0]
                        .split("!")[0].split("~")[0].strip())
    return seen


def _dist_bytes(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for file in dist.files or []:
        path = Path(dist.locate_file(file))
        if path.is_file() and "__pycache__" not in path.parts:
            total += path.stat().st_size
    return total


def bench_size() -> dict[str, float]:
    requirements = [line.split("==")[0] for line in (ROOT / "services" / "race_predictor" / "requirements.txt")
                    .read_text().splitlines() if line and not line.startswith("#")]
    dists = sorted(_closure(requirements))
    sizes = {name: _dist_bytes(name) for name in dists}
    code = sum(p.stat().st_size for p in (ROOT / "services" / "race_predictor" / "race_predictor").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts)
    models = sum(p.stat().st_size for p in (ROOT / "services" / "race_predictor" / "race_predictor" / "artifacts").iterdir())
    total = sum(sizes.values()) + code
    mb = 1024 * 1024
    return {"package_unzipped_mb": total / mb, "lambda_limit_mb": 250.0, "share_of_limit": total / (250 * mb),
            "service_code_and_models_kb": code / 1024, "models_kb": models / 1024,
            **{f"dep_{name}_mb": size / mb for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]}}


# --- issue 17: a whole long race, one POST per lap ------------------------------------------------
def race_laps(data_dir: Path, season: int, round_: int) -> list[dict]:
    """One body per lap of a real race: every message of lap L (laps, pit_in/out, track status);
    race_start goes with lap 1 and race_end with the last lap."""
    from ml.f1 import race_data

    messages = race_data.race_messages(race_data.load(data_dir), season, round_)
    by_lap: dict[int, list[dict]] = {}
    for message in messages:
        by_lap.setdefault(int(message.get("lap", 0)), []).append(message)
    laps = sorted(lap for lap in by_lap if lap > 0)
    bodies = [{"lap": lap, "messages": list(by_lap[lap])} for lap in laps]
    bodies[0]["messages"][:0] = [m for m in by_lap.get(0, []) if m["type"] == "race_start"]
    bodies[-1]["messages"] += [m for m in by_lap.get(0, []) if m["type"] == "race_end"]
    return bodies


class CodecStore:
    """StateStore in a dict that keeps each body as the DynamoDB adapter stores it (encoded), so the
    domain time includes decoding and encoding the state, not the AWS round trips."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[int, bytes]] = {}

    def load(self, key: str):  # noqa: ANN201 - the port's Stored
        from race_predictor.adapters.dynamodb import decode_body
        from race_predictor.logic.ports import Stored

        if key not in self.items:
            return Stored(None, 0)
        version, blob = self.items[key]
        return Stored(decode_body(blob), version)

    def save(self, key: str, body: dict, expected_version: int, expires_at: int | None) -> int:
        from race_predictor.adapters.dynamodb import encode_body
        from race_predictor.logic.ports import VersionConflict

        if self.items.get(key, (0, b""))[0] != expected_version:
            raise VersionConflict(key)
        self.items[key] = (expected_version + 1, encode_body(body))
        return expected_version + 1


class EnvelopePublisher:
    def publish_many(self, events):  # noqa: ANN001, ANN201 - the publisher's duck type
        from pitwall_shared.events import envelope

        return [envelope(event) for event in events]


def domain_times(bodies: list[dict]) -> list[float]:
    """ms per lap POST through F1Service with in-memory ports (the codec included)."""
    from race_predictor.logic.f1.predictor import TreePitBattlePredictor
    from race_predictor.logic.f1.service import F1Service
    from race_predictor.logic.ports import InMemoryLedger
    from race_predictor.models.f1 import parse_batch

    service = F1Service(store=CodecStore(), ledger=InMemoryLedger(), publisher=EnvelopePublisher(),
                        predictor=TreePitBattlePredictor.load())
    times = []
    for body in bodies:
        batch = parse_batch({"messages": body["messages"]})
        t0 = time.perf_counter()
        service.post_messages("bench-domain", batch)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def bench_race(data_dir: Path, season: int, round_: int, pause_s: float = 0.0) -> dict:
    from local.cloud import LocalCloud, Ports
    from local.dynamodb_capacity import CapacityMeter, item_size
    from ml.f1.replay import http_json

    bodies = race_laps(data_dir, season, round_)
    domain = domain_times(bodies)
    race_id = f"bench-{season}-{round_:02d}-{time.time_ns() % 10**9}"
    rows = []
    cloud = LocalCloud(ports=Ports(moto=0, api=0, comprehend=0, firehose=0, a2i=0, dashboard=0))
    with cloud:
        table = cloud.physical_id("RaceStateTable")
        backend_key = {"pk": {"S": f"F1#{race_id}"}, "sk": {"S": "STATE"}}
        meter = CapacityMeter(tables=(table,))
        url = f"{cloud.api_url}/races/{race_id}/messages"
        # the first request of a sandbox and of a race pays one-off costs: warm up on another race
        warm = {"messages": [m for m in bodies[0]["messages"] if m["type"] == "race_start"]}
        http_json("POST", f"{cloud.api_url}/races/{race_id}-warm-up/messages", warm)
        ddb = cloud.client("dynamodb")
        with meter.metering():
            for body, domain_ms in zip(bodies, domain, strict=True):
                time.sleep(pause_s)  # a live feed posts once a lap: the event consumers have finished
                mark = meter.mark()
                t0 = time.perf_counter()
                status, answer = http_json("POST", url, {"messages": body["messages"]})
                latency = (time.perf_counter() - t0) * 1000
                assert status == 200, (status, answer)
                consumed = meter.since(mark)
                item = ddb.get_item(TableName=table, Key=backend_key, ConsistentRead=True).get("Item")
                rows.append({
                    "lap": body["lap"], "messages": len(body["messages"]), "predictions": len(answer["predictions"]),
                    "item_kb": item_size(_wire(item)) / 1024, "rcu": sum(c.rcu for c in consumed),
                    "wcu": sum(c.wcu for c in consumed), "requests": len(consumed),
                    "max_written_kb": max((w[2] for c in consumed for w in c.written), default=0) / 1024,
                    # the state item's own write, and the ledger marks (one per event published)
                    "state_wcu": sum(c.wcu for c in consumed if any(w[1] == "STATE" for w in c.written)),
                    "events": sum(1 for c in consumed if c.operation == "BatchWriteItem" for w in c.written
                                  if w[1].startswith("PUB#")),
                    "domain_ms": domain_ms, "post_ms": latency,
                })
    return {"race": f"{season}:{round_}", "rows": rows}


def _wire(item: dict | None) -> dict:
    """boto3's GetItem answer back to DynamoDB JSON (binary values as bytes)."""
    return dict(item or {})


def print_race_table(result: dict) -> None:
    rows = result["rows"]
    print(f"race {result['race']}: {len(rows)} laps, one POST per lap, "
          f"{sum(r['messages'] for r in rows)} messages, {sum(r['predictions'] for r in rows)} predictions")
    header = (f"{'laps':>7} {'item KB':>8} {'max KB':>7} {'RCU/POST':>9} {'WCU/POST':>9} {'requests':>9} "
              f"{'domain ms':>10} {'POST ms':>8} {'POST p50':>9}")
    print(header)
    for start in range(1, rows[-1]["lap"] + 1, 10):
        bucket = [r for r in rows if start <= r["lap"] < start + 10]
        if not bucket:
            continue
        print(f"{start:>3}-{bucket[-1]['lap']:<3} {statistics.mean(r['item_kb'] for r in bucket):>8.2f} "
              f"{max(r['item_kb'] for r in bucket):>7.2f} {statistics.mean(r['rcu'] for r in bucket):>9.1f} "
              f"{statistics.mean(r['wcu'] for r in bucket):>9.1f} {statistics.mean(r['requests'] for r in bucket):>9.1f} "
              f"{statistics.mean(r['domain_ms'] for r in bucket):>10.1f} {statistics.mean(r['post_ms'] for r in bucket):>8.1f} "
              f"{statistics.median(r['post_ms'] for r in bucket):>9.1f}")
    by_lap = {r["lap"]: r for r in rows}
    print("\nlap  item KB  RCU  WCU  predictions  domain ms  POST ms")
    for lap in (5, 60):
        if lap in by_lap:
            r = by_lap[lap]
            print(f"{lap:>3} {r['item_kb']:>8.2f} {r['rcu']:>4.0f} {r['wcu']:>4.0f} {r['predictions']:>12} "
                  f"{r['domain_ms']:>10.1f} {r['post_ms']:>8.1f}")
    if 5 in by_lap and 60 in by_lap:
        five, sixty = by_lap[5], by_lap[60]
        print(f"lap 60 / lap 5: WCU {sixty['wcu'] / five['wcu']:.2f}x, POST latency "
              f"{sixty['post_ms'] / five['post_ms']:.2f}x (targets <= 1.2x)")
        near5 = [r for r in rows if 3 <= r["lap"] <= 7]
        near60 = [r for r in rows if 58 <= r["lap"] <= 62]
        print(f"laps 58-62 / laps 3-7 (median): WCU "
              f"{statistics.median(r['wcu'] for r in near60) / statistics.median(r['wcu'] for r in near5):.2f}x, "
              f"POST latency {statistics.median(r['post_ms'] for r in near60) / statistics.median(r['post_ms'] for r in near5):.2f}x")
        print(f"like for like: state write WCU lap 60 / lap 5 {sixty['state_wcu']:.0f}/{five['state_wcu']:.0f}; "
              f"events published lap 5 {five['events']}, lap 60 {sixty['events']} (each: PutEvents + 1 WCU ledger mark)")
        quiet = {span: [r["post_ms"] for r in rows if lo <= r["lap"] <= hi and r["events"] == 0]
                 for span, (lo, hi) in {"1-20": (1, 20), "51-71": (51, 71)}.items()}
        busy = {span: [r["post_ms"] for r in rows if lo <= r["lap"] <= hi and r["events"] > 0]
                for span, (lo, hi) in {"1-20": (1, 20), "51-71": (51, 71)}.items()}
        print("POST p50 without events: " + ", ".join(
            f"laps {span} {statistics.median(v):.1f} ms ({len(v)})" for span, v in quiet.items() if v)
            + "; with events: " + ", ".join(
            f"laps {span} {statistics.median(v):.1f} ms ({len(v)})" for span, v in busy.items() if v))
    posts = [r["post_ms"] for r in rows]
    domain = [r["domain_ms"] for r in rows]
    print(f"over the race: POST p50 {statistics.median(posts):.1f} ms, p99 {percentile(posts, 0.99):.1f} ms, "
          f"max {max(posts):.1f} ms; domain p50 {statistics.median(domain):.1f} ms, p99 {percentile(domain, 0.99):.1f} ms; "
          f"largest state item {max(r['item_kb'] for r in rows):.2f} KB (target <= 16 KB); "
          f"total {sum(r['rcu'] for r in rows):.0f} RCU, {sum(r['wcu'] for r in rows):.0f} WCU")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--race", default="2023:9", help="SEASON:ROUND of a race in the shared data")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "f1")
    parser.add_argument("--extras", action="store_true", help="also the inference, cold-start and size figures")
    parser.add_argument("--per-lap", action="store_true", help="also one line per lap")
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between POSTs (0: back to back, the consumers of one POST's events still at work during the next)")
    parser.add_argument("--laps", type=int, default=40, help="(--extras) laps of the simulated race")
    args = parser.parse_args()
    season, round_ = (int(part) for part in args.race.split(":", 1))
    race = bench_race(args.data, season, round_, args.pause)
    if args.per_lap:
        print("lap messages predictions item_KB RCU WCU requests domain_ms POST_ms")
        for r in race["rows"]:
            print(f"{r['lap']} {r['messages']} {r['predictions']} {r['item_kb']:.2f} {r['rcu']:.0f} {r['wcu']:.0f} "
                  f"{r['requests']} {r['domain_ms']:.1f} {r['post_ms']:.1f}")
    print_race_table(race)
    if not args.extras:
        return 0
    results: dict[str, float] = {}
    results.update(bench_size())
    results.update(bench_cold_start())
    results.update(bench_inference())
    results.update(bench_http(args.laps))
    results["gateway_overhead_ratio_p50"] = results["gateway_p50_ms"] / results["in_process_p50_ms"]
    for key, value in results.items():
        print(f"{key:40s} {value:12.3f}" if isinstance(value, float) else f"{key:40s} {value:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
