"""Soak run (`make soak`): the whole local cloud fed at 10x real time for 10 minutes, on loopback only.

Four streams at once — NHL tracking records on Kinesis (simulated games, by their own timestamps),
F1 timing messages over the API (the sample race replayed lap by lap, a new race id each time), PII
records on Firehose, usage events on the bus — then it drains and prints, per service, records in
against records out, each function's invocation p50/p99, and each worker's memory (RSS) at the start
and the end, against the bound stated below. Figures only; it exits non-zero if a count does not
reconcile or a worker outgrew the bound.

    .venv/bin/python bench/soak.py [--minutes 10] [--speed 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "services" / "race_predictor")]

from local.cloud import LocalCloud  # noqa: E402
from ml.nhl.simulator import simulate_game  # noqa: E402
from ml.pii_eval.stream import record_bytes, records  # noqa: E402
from pitwall_shared.jsonlines import split_lines  # noqa: E402

# A worker may grow by this much over the run (allocator arenas, caches that fill once); a leak of
# even a few hundred bytes per record would pass it within the run's hundreds of thousands of records.
MEMORY_GROWTH_BOUND_MB = 64
STREAM = "pitwall-PiiDeliveryStream"
UNDERCUT = json.loads(json.loads((ROOT / "events/race_predictor/post_messages_undercut_race.json").read_text())["body"])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Soak:
    def __init__(self, cloud: LocalCloud, speed: float, seconds: float) -> None:
        self.cloud, self.speed, self.deadline = cloud, speed, time.monotonic() + seconds
        self.sent: dict[str, int] = defaultdict(int)
        self.latency_ms: dict[str, list[float]] = defaultdict(list)
        self.api_ms: list[float] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._time_invocations()

    def _time_invocations(self) -> None:
        runner = self.cloud.runner
        assert runner is not None
        invoke = runner.invoke

        def timed(logical_id, event):
            started = time.perf_counter()
            try:
                return invoke(logical_id, event)
            finally:
                with self._lock:
                    self.latency_ms[logical_id].append((time.perf_counter() - started) * 1000)

        runner.invoke = timed  # type: ignore[method-assign]

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def nhl(self) -> None:
        kinesis, stream = self.cloud.client("kinesis"), self.cloud.physical_id("NhlTrackingStream")
        game_no = 0
        while self.running():
            game = simulate_game(f"soak-{game_no}", seed=game_no, periods=1, faceoffs_per_period=4)
            game_no += 1
            start_ts, start = game.records[1]["ts_ms"], time.monotonic()
            batch: list[bytes] = []
            for record in game.records:
                due = start + (record.get("ts_ms", start_ts) - start_ts) / 1000 / self.speed
                if batch and (time.monotonic() >= due or len(batch) >= 500):
                    kinesis.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": game.game_id} for d in batch])
                    self.sent["nhl"] += len(batch)
                    batch = []
                time.sleep(max(0.0, due - time.monotonic()))
                batch.append(json.dumps(record).encode())
                if not self.running():
                    break
            if batch:
                kinesis.put_records(StreamName=stream, Records=[{"Data": d, "PartitionKey": game.game_id} for d in batch])
                self.sent["nhl"] += len(batch)

    def f1(self) -> None:
        laps: dict[int, list[dict]] = defaultdict(list)
        for message in UNDERCUT["messages"]:
            laps[message.get("lap", 0)].append(message)
        race_no = 0
        while self.running():
            race_id = f"soak-race-{race_no}"
            race_no += 1
            for lap in sorted(laps):
                started = time.perf_counter()
                request = urllib.request.Request(  # noqa: S310 - loopback
                    f"{self.cloud.api_url}/races/{race_id}/messages", method="POST",
                                                 data=json.dumps({"messages": laps[lap]}).encode(),
                                                 headers={"Content-Type": "application/json"})
                self.sent["f1"] += len(laps[lap])
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
                        body = json.loads(response.read())
                    self.sent["f1_accepted"] += body["accepted"] + len(body["duplicates"])
                except Exception as error:  # noqa: BLE001 - counted, the soak goes on
                    self.errors.append(f"f1: {error!r}")
                self.api_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(max(0.0, 90 / self.speed - (time.perf_counter() - started)))  # a lap is ~90 s
                if not self.running():
                    return

    def pii(self) -> None:
        firehose, seed = self.cloud.client("firehose"), 0
        while self.running():
            batch = [record_bytes(r) for r in records(int(5 * self.speed), seed=seed)]  # 5 records/s real time
            seed += 1
            firehose.put_record_batch(DeliveryStreamName=STREAM, Records=[{"Data": d} for d in batch])
            self.sent["pii"] += len(batch)
            time.sleep(1.0)

    def usage(self) -> None:
        events, bus, n = self.cloud.client("events"), self.cloud.physical_id("PitwallBus"), 0
        while self.running():
            now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
            entries = [{"Source": "pitwall.endpoint_monitor", "DetailType": "EndpointTraffic", "EventBusName": bus,
                        "Detail": json.dumps({"event_id": f"soak-usage-{n + i}", "correlation_id": "soak",
                                              "occurred_at": now, "schema_version": "1",
                                              "data": {"endpoint_name": "soak", "observed_at": now,
                                                       "characters": 100, "requests": 1}})}
                       for i in range(min(10, int(self.speed)))]
            events.put_events(Entries=entries)
            n += len(entries)
            self.sent["usage"] += len(entries)
            time.sleep(1.0)


def _redacted_lines(cloud: LocalCloud) -> int:
    s3, bucket, count = cloud.client("s3"), cloud.physical_id("PiiRedactedBucket"), 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="redacted/"):
        for item in page.get("Contents", []):
            count += len(split_lines(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()))
    return count


def _usage_characters(cloud: LocalCloud) -> int:
    answer = cloud.client("dynamodb").query(
        TableName=cloud.physical_id("CostUsageTable"), KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ENDPOINT#soak"}})
    return sum(int(item.get("characters", {}).get("N", 0)) for item in answer["Items"])


def _cloud_rss(cloud: LocalCloud) -> dict[str, float]:
    """RSS of the local cloud's own processes: the one serving moto, and each emulator served apart."""
    found = {"moto + gateway + pollers": rss_mb(os.getpid())}
    for name, emulator in cloud.emulators.items():
        pid = getattr(emulator.server, "pid", None)
        if pid is not None and pid != os.getpid():
            found[f"{name} emulator"] = rss_mb(pid)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=10.0)
    args = parser.parse_args()
    log_dir = ROOT / ".local" / "soak-logs"
    with LocalCloud(ROOT / "template.yaml", log_dir=log_dir,
                    emulator_settings={"firehose": {}}) as cloud:
        assert cloud.runner is not None
        soak = Soak(cloud, args.speed, args.minutes * 60)
        threads = [threading.Thread(target=getattr(soak, name), name=name, daemon=True)
                   for name in ("nhl", "f1", "pii", "usage")]
        for thread in threads:
            thread.start()
        time.sleep(min(20.0, args.minutes * 60 / 4))  # warm-up: every worker has cold-started by now
        cloud_start = _cloud_rss(cloud)
        memory_start = {f"{w.spec.logical_id}#{i}": rss_mb(w.process.pid)
                        for logical_id in cloud.runner.specs for i, w in enumerate(cloud.runner.workers(logical_id))
                        if w.process is not None and w.process.is_alive()}
        for thread in threads:
            thread.join()
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - loopback
            cloud.endpoint("firehose") + "/_emulator/flush", method="POST",
            data=json.dumps({"DeliveryStreamName": STREAM}).encode()), timeout=600).read()
        nhl_poller = next(p for p in cloud.pollers if p.name == "kinesis:NhlTrackingFunction")
        drain_deadline = time.monotonic() + 900  # the consumers work off their backlog
        while time.monotonic() < drain_deadline and (
                nhl_poller.delivered + nhl_poller.sent_to_failure_destination < soak.sent["nhl"]
                or _usage_characters(cloud) < 100 * soak.sent["usage"]):
            time.sleep(1.0)
        cloud_end = _cloud_rss(cloud)
        memory_end = {f"{w.spec.logical_id}#{i}": rss_mb(w.process.pid)
                      for logical_id in cloud.runner.specs for i, w in enumerate(cloud.runner.workers(logical_id))
                      if w.process is not None and w.process.is_alive()}

        rows = [
            ("nhl tracking records", soak.sent["nhl"], nhl_poller.delivered + nhl_poller.sent_to_failure_destination),
            ("f1 timing messages", soak.sent["f1"], soak.sent["f1_accepted"]),
            ("pii records", soak.sent["pii"], _redacted_lines(cloud)),
            ("usage events", soak.sent["usage"], _usage_characters(cloud) // 100),
        ]
        print(f"\nsoak: {args.minutes:g} min at {args.speed:g}x real time, loopback only")
        print(f"{'stream':<24}{'in':>10}{'out':>10}")
        reconciled = True
        for name, sent, done in rows:
            reconciled &= sent == done
            print(f"{name:<24}{sent:>10}{done:>10}{'' if sent == done else '   MISMATCH'}")
        # Where unapplied usage events are: still queued, in flight (a visibility timeout running), or dead-lettered.
        sqs = cloud.client("sqs")
        for queue in ("CostUsageQueue", "CostUsageDeadLetterQueue"):
            attributes = sqs.get_queue_attributes(QueueUrl=cloud.physical_id(queue), AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            print(f"{queue}: {attributes['ApproximateNumberOfMessages']} queued, "
                  f"{attributes['ApproximateNumberOfMessagesNotVisible']} in flight")
        print(f"\n{'function':<30}{'invocations':>12}{'p50 ms':>10}{'p99 ms':>10}")
        for logical_id, values in sorted(soak.latency_ms.items()):
            print(f"{logical_id:<30}{len(values):>12}{statistics.median(values):>10.1f}{percentile(values, 0.99):>10.1f}")
        print(f"{'POST /races/{id}/messages':<30}{len(soak.api_ms):>12}{statistics.median(soak.api_ms or [0]):>10.1f}"
              f"{percentile(soak.api_ms, 0.99):>10.1f}   (client side, through the gateway)")
        print(f"\n{'worker':<32}{'RSS start MB':>14}{'RSS end MB':>12}{'growth':>9}   bound {MEMORY_GROWTH_BOUND_MB} MB")
        within = True
        for worker, start in sorted(memory_start.items()):
            end = memory_end.get(worker, float("nan"))
            within &= end - start <= MEMORY_GROWTH_BOUND_MB
            print(f"{worker:<32}{start:>14.1f}{end:>12.1f}{end - start:>9.1f}")
        # Not bounded (moto keeps every record, object and message, as a real account would keep them
        # until retention ends); printed to show the local cloud's own footprint.
        for part, start in cloud_start.items():
            print(f"{part:<32}{start:>14.1f}{cloud_end[part]:>12.1f}{cloud_end[part] - start:>9.1f}   (local cloud)")
        if soak.errors:
            print(f"\n{len(soak.errors)} client error(s), first: {soak.errors[0]}")
        print(f"\nrecords in = records out: {'yes' if reconciled else 'NO'}; memory within bound: {'yes' if within else 'NO'}")
        return 0 if reconciled and within and not soak.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
