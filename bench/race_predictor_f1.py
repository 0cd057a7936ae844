"""Benchmark of the F1 pit-battle path (prints figures, asserts nothing on time).

    .venv/bin/python bench/race_predictor_f1.py [--laps 40]

In one run: p50/p99 of a POST carrying one lap of messages (20) through the local API Gateway,
the function's worker process and DynamoDB (moto), beside the in-process handler time against
the same DynamoDB; single-row and batch inference of the shipped ONNX models beside native
XGBoost; cold start (import + model load) in a fresh process; the unzipped size of the function
with its dependencies.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--laps", type=int, default=40)
    args = parser.parse_args()
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
