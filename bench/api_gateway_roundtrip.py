"""Local API Gateway + worker round trip for `POST /estimates/endpoint`, beside the handler in-process.

Prints median and p99 over N requests of both, and their ratio: what the local cloud's gateway,
HTTP and process hop add on top of the function's own work.

    .venv/bin/python bench/api_gateway_roundtrip.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "services" / "cost_calculator")]

# The estimate routes read no table, but the app's settings are parsed at import (cold start).
os.environ.setdefault("USAGE_TABLE_NAME", "bench-usage")
os.environ.setdefault("EVENT_BUS_NAME", "bench-bus")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

BODY = {"messages_per_minute": 10, "characters_per_message": 360, "hours_per_day": 12}


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def in_process(requests: int) -> list[float]:
    from chalice.test import Client

    from cost_calculator.api import app

    timings = []
    with Client(app) as client:
        payload = json.dumps(BODY)
        for _ in range(requests):
            start = time.perf_counter()
            response = client.http.post("/estimates/endpoint", headers={"Content-Type": "application/json"}, body=payload)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, response.body
    return timings


def through_gateway(requests: int) -> list[float]:
    from local.cloud import LocalCloud

    timings = []
    with LocalCloud(stack_name="bench") as cloud:
        url = urlparse(cloud.api_url)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        payload = json.dumps(BODY)
        for i in range(requests + 1):
            start = time.perf_counter()
            connection.request("POST", "/estimates/endpoint", body=payload, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            if i:  # the first request pays the cold start; it is reported by the race-predictor bench
                timings.append(time.perf_counter() - start)
            assert response.status == 200
    return timings


def main() -> None:
    logging.getLogger().setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    handler = in_process(args.requests)
    gateway = through_gateway(args.requests)
    rows = [("handler in-process", handler), ("local API GW + worker", gateway)]
    print(f"POST /estimates/endpoint, {args.requests} requests each")
    print(f"{'path':<24}{'median ms':>12}{'p99 ms':>10}")
    for name, samples in rows:
        print(f"{name:<24}{statistics.median(samples) * 1e3:>12.3f}{percentile(samples, 0.99) * 1e3:>10.3f}")
    ratio = statistics.median(gateway) / statistics.median(handler)
    print(f"gateway/handler median ratio: {ratio:.1f}x "
          f"(overhead {(statistics.median(gateway) - statistics.median(handler)) * 1e3:.3f} ms per request)")


if __name__ == "__main__":
    main()
