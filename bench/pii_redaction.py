"""PII redaction figures for issue 3, measured in one run.

1. A 1 MB batch of realistic records (two inspected fields each, about a third with PII) against the
   Comprehend emulator at 25 ms per call and a 50 requests/s quota: billed units (and USD) and wall
   time of the function's screening against a one-request-per-field sequential Contains-then-Detect
   pipeline on the same batch, whether the outputs are identical, and the quota's lower bound on the
   function's wall time (its requests / quota).
2. The function's own CPU per record with Comprehend answered instantly (answers replayed from
   memory, so only decoding, field selection, packing, offset mapping, masking and encoding count).
3. Peak Python memory of a 6 MB invocation (Lambda's payload limit) against the template's MemorySize.
4. One quota for the whole account (issue 12 item 4): as many invocations at once as the function's
   reserved concurrency for the quota (4 for 50 requests/s, logic/quota.py), each with its own 1 MB
   batch and its own share of the quota, against the same emulator quota: throttles answered, fields
   masked for want of capacity (must be 0), wall time against the quota's bound (all requests /
   quota). The same run with every invocation at the old per-invocation ceiling (45/s) for contrast.

    .venv/bin/python bench/pii_redaction.py [--batch-mb 1] [--latency-ms 25] [--quota 50] [--only-concurrent]
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import logging
import multiprocessing
import os
import sys
import time
import tracemalloc
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "shared"), str(ROOT / "services" / "pii_redaction")]

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from local.emulators.comprehend import make_app  # noqa: E402
from local.provision import load_template  # noqa: E402
from ml.pii_eval.stream import record_bytes, records  # noqa: E402
from pii_redaction.adapters.comprehend import ComprehendGateway  # noqa: E402
from pii_redaction.logic.batch import ScreeningOptions  # noqa: E402
from pii_redaction.logic.fields import parse_field_paths  # noqa: E402
from pii_redaction.logic.ports import Call, CallResult  # noqa: E402
from pii_redaction.logic.quota import invocation_share, reserved_concurrency  # noqa: E402
from pii_redaction.logic.screening import screen  # noqa: E402
from pii_redaction.models import InputRecord  # noqa: E402
from pitwall_shared import pricing  # noqa: E402

FIELDS = ("message", "note")


def serve(ports, latency_ms: float, quota: float) -> None:
    """The Comprehend emulator's process: serve on a free port and report the URL."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = make_app(latency_ms=latency_ms, rps_quota=quota)
    app.detector.detect("warm up the model: Ana Lima, ana@example.org")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    ports.put(f"http://127.0.0.1:{server.server_port}")
    server.serve_forever()


class EmulatorControl:
    """The emulator's control endpoints (forget memoised analyses between the two pipelines)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def detect_seconds(self) -> float:
        with urllib.request.urlopen(self.url + "/_emulator/stats", timeout=30) as response:  # noqa: S310
            return float(json.loads(response.read())["detect_seconds"])

    def configure(self, **faults) -> None:
        request = urllib.request.Request(self.url + "/_emulator/config", data=json.dumps(faults).encode(),  # noqa: S310
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback emulator
            response.read()

    def errors(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url + "/_emulator/stats", timeout=30) as response:  # noqa: S310
            return dict(json.loads(response.read())["errors"])

    def reset(self) -> None:
        request = urllib.request.Request(self.url + "/_emulator/reset", data=b"{}", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback emulator
            response.read()


def batch(target_bytes: int, seed: int = 3) -> list[InputRecord]:
    out, size = [], 0
    for index, record in enumerate(records(10**7, seed=seed, fields=FIELDS)):
        data = record_bytes(record)
        if size + len(data) > target_bytes:
            break
        out.append(InputRecord(f"r{index}", base64.b64encode(data).decode()))
        size += len(data)
    return out


def cost(outcome) -> Decimal:
    prices = pricing.current_prices()
    units = {api: line.billed_units for api, line in outcome.usage.items()}
    return (units.get("ContainsPiiEntities", 0) * prices.contains_pii_unit
            + units.get("DetectPiiEntities", 0) * prices.detect_pii_unit)


def units(outcome) -> int:
    return sum(line.billed_units for line in outcome.usage.values())


def requests(outcome) -> int:
    return sum(line.requests + line.failed_requests for line in outcome.usage.values())


class Replay:
    """A PiiService answering from answers recorded earlier: Comprehend at zero cost and latency."""

    def __init__(self, detector) -> None:
        self.detector, self.answers = detector, {}

    def record(self, calls: Sequence[Call]) -> list[CallResult]:
        from pii_redaction.logic.planning import Span

        for call in calls:
            if call not in self.answers:
                if call.api == "ContainsPiiEntities":
                    self.answers[call] = CallResult(labels=self.detector.labels(call.text))
                else:
                    self.answers[call] = CallResult(spans=tuple(Span(e.type, e.begin, e.end, e.score)
                                                                for e in self.detector.detect(call.text)))
        return [self.answers[c] for c in calls]

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        return [self.answers[c] for c in calls]


def main() -> None:
    parser = argparse.ArgumentParser(description="PII redaction benchmark (issue 3 figures)")
    parser.add_argument("--batch-mb", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--quota", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-comparison", action="store_true", help="only the CPU and memory figures")
    parser.add_argument("--only-concurrent", action="store_true", help="only the concurrent-invocation run (4.)")
    parser.add_argument("--invocations", type=int, default=None,
                        help="concurrent invocations (default: the reserved concurrency for --quota)")
    args = parser.parse_args()

    # The emulator runs in its own process, as Comprehend is a remote service: its detection work
    # must not compete with the function's threads for this process's interpreter lock.
    ports: multiprocessing.Queue = multiprocessing.Queue()
    emulator = multiprocessing.Process(target=serve, args=(ports, args.latency_ms, args.quota), daemon=True)
    emulator.start()
    url = ports.get(timeout=120)
    client = comprehend(url)
    app = EmulatorControl(url)
    if args.only_concurrent:
        concurrent_invocations(app, url, args)
        emulator.terminate()
        return

    data = batch(int(args.batch_mb * 1_000_000))
    size = sum(len(base64.b64decode(r.data)) for r in data)
    options = ScreeningOptions(paths=parse_field_paths(",".join(FIELDS)))
    print(f"batch: {len(data)} records, {size / 1e6:.2f} MB, fields {FIELDS}, "
          f"{sum(json.loads(base64.b64decode(r.data))['has_pii'] for r in data)} with PII")
    print(f"emulator: {args.latency_ms:.0f} ms per call, quota {args.quota:.0f} requests/s")

    if not args.skip_comparison:
        compare(app, client, data, options, args)
        concurrent_invocations(app, url, args)
    cpu_and_memory(data, size, options)
    emulator.terminate()


def comprehend(url: str):
    return boto3.client("comprehend", endpoint_url=url,
                        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",  # noqa: S106 - the emulator takes any
                        config=Config(retries={"mode": "standard", "max_attempts": 0},  # no botocore retry: the gateway retries
                                      max_pool_connections=64, read_timeout=30))


def masked_fields(outcome) -> int:
    """Fields masked whole because Comprehend could not be asked (records marked uninspected)."""
    count = 0
    for record in outcome.records:
        if record.masked_uninspected:
            document = json.loads(base64.b64decode(record.data))
            count += sum(1 for name in FIELDS if document.get(name))
        elif record.reason_kind == "uninspected":  # policies drop / fail
            count += len(FIELDS)
    return count


def concurrent_invocations(app, url: str, args) -> None:
    """4. Several invocations at once, each pacing itself, against one emulator quota."""
    from concurrent.futures import ThreadPoolExecutor

    count = args.invocations or reserved_concurrency(args.quota)
    share = invocation_share(args.quota, reserved_concurrency(args.quota))
    batches = [batch(int(args.batch_mb * 1_000_000), seed=20 + i) for i in range(count)]
    options = ScreeningOptions(paths=parse_field_paths(",".join(FIELDS)))
    print(f"\nconcurrent invocations: {count} at once, {len(batches[0])}-{max(map(len, batches))} records each; "
          f"quota {args.quota:.0f}/s -> reserved concurrency {reserved_concurrency(args.quota)}, "
          f"share {share:.2f}/s per invocation")
    # Warm the emulator's memo of every paragraph first (quota off, unpaced): the runs below then
    # measure pacing and throttling against Comprehend's modelled service time (--latency-ms), not
    # the emulator's own detection CPU on a shared machine.
    app.reset()
    app.configure(rps_quota=None)
    warm = ComprehendGateway(comprehend(url), max_concurrency=args.concurrency, max_rps=10_000)
    for each in batches:
        screen(each, options, warm)
    app.configure(rps_quota=args.quota)
    for label, rps in (("share of the account quota", share), ("old per-invocation ceiling", 45.0)):
        errors_before = app.errors().get("ThrottlingException", 0)
        detect_before = app.detect_seconds()
        gateways = [ComprehendGateway(comprehend(url), max_concurrency=args.concurrency, max_rps=rps)
                    for _ in batches]
        started = time.perf_counter()

        def invoke(pair, started=started):
            outcome = screen(pair[0], options, pair[1])
            return outcome, time.perf_counter() - started

        with ThreadPoolExecutor(max_workers=count) as pool:
            outcomes, walls = zip(*pool.map(invoke, zip(batches, gateways, strict=True)), strict=True)
        wall = time.perf_counter() - started
        total = sum(requests(o) for o in outcomes)
        answered = sum(o.usage[api].requests for o in outcomes for api in o.usage)
        bound = answered / args.quota
        throttles = app.errors().get("ThrottlingException", 0) - errors_before
        print(f"  {label} ({rps:.2f}/s each): throttles answered {throttles} "
              f"(retried by the gateways: {sum(g.throttled for g in gateways)}), "
              f"fields masked for want of capacity {sum(masked_fields(o) for o in outcomes)} (must be 0), "
              f"requests {answered} answered + {total - answered} given up")
        print(f"    wall {wall:.2f} s vs quota bound {bound:.2f} s ({answered} requests / {args.quota:.0f}/s): "
              f"{wall / bound:.2f}x (target <= 1.5); invocations ended at "
              f"{', '.join(f'{w:.1f}' for w in walls)} s; emulator detecting {app.detect_seconds() - detect_before:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f}")


def compare(app, client, data, options, args) -> None:
    # The function: packed, concurrent, paced just under the quota.
    app.reset()
    gateway = ComprehendGateway(client, max_concurrency=args.concurrency, max_rps=args.quota * 0.96)
    started = time.perf_counter()
    ours = screen(data, options, gateway)
    ours_s = time.perf_counter() - started
    emulator_busy = app.detect_seconds()
    ours_requests = requests(ours)
    quota_bound = ours_requests / args.quota

    # Baseline: one request per field, Contains then Detect, one at a time.
    app.reset()
    baseline_gateway = ComprehendGateway(client, max_concurrency=1, max_rps=args.quota * 0.96)
    started = time.perf_counter()
    baseline = screen(data, replace(options, contains_pack_chars=1, detect_pack_chars=1), baseline_gateway)
    baseline_s = time.perf_counter() - started

    identical = [r.data for r in ours.records] == [r.data for r in baseline.records]
    print("\n                     requests  units(C+D)        USD   wall s")
    for name, outcome, wall in (("function", ours, ours_s), ("baseline", baseline, baseline_s)):
        c, d = outcome.usage["ContainsPiiEntities"], outcome.usage.get("DetectPiiEntities")
        print(f"{name:<20}{requests(outcome):>9}  {c.billed_units:>5}+{d.billed_units if d else 0:<6}"
              f"{cost(outcome):>10.4f}{wall:>9.2f}")
    print(f"quota lower bound for the function: {quota_bound:.2f} s ({ours_requests} requests / {args.quota:.0f}/s)")
    print(f"emulator detection time during the function's run: {emulator_busy:.2f} s (one detection at a time; "
          f"a second floor under the wall time when the machine is loaded)")
    print(f"outputs identical: {identical}; throttled calls retried: function {gateway.throttled}, "
          f"baseline {baseline_gateway.throttled}")
    print(f"billed units ratio: {units(ours) / units(baseline):.3f} (target <= 0.5); "
          f"USD ratio: {cost(ours) / cost(baseline):.3f}")
    print(f"wall time ratio: {ours_s / baseline_s:.3f} of baseline (target <= 0.1); "
          f"{ours_s / quota_bound:.2f}x the quota bound (target <= 1.5)")



def cpu_and_memory(data, size, options) -> None:
    # Function CPU per record, Comprehend answered instantly.
    from local.emulators.pii_detect import PiiDetector

    replay = Replay(PiiDetector())
    screen(data, options, type("Recorder", (), {"run": staticmethod(replay.record)})())
    # The NER model's millions of objects live in this process only to record answers; a Lambda
    # sandbox has none of them. Freezing them keeps the garbage collector from walking them on
    # every collection, which would otherwise be charged to the function.
    gc.collect()
    gc.freeze()
    # Best of five rounds: other processes on the machine only ever add to a round's CPU time.
    rounds = []
    for _ in range(5):
        cpu = time.process_time()
        screen(data, options, replay)
        rounds.append(time.process_time() - cpu)
    per_record = min(rounds) / len(data)
    mean_bytes = size / len(data)
    print(f"\nfunction CPU: {per_record * 1e6:.1f} us per record (mean {mean_bytes:.0f} B; target <= 50 us "
          f"for 700 B; {per_record * 1e6 * 700 / mean_bytes:.1f} us scaled to 700 B)")

    # Peak memory of a 6 MB invocation (base64 data counts against the 6 MB payload).
    big = batch(int(6_000_000 * 3 / 4) - 50_000, seed=9)
    event_size = len(json.dumps({"records": [{"recordId": r.record_id, "data": r.data} for r in big]}))
    screen(big, options, type("Recorder", (), {"run": staticmethod(replay.record)})())
    tracemalloc.start()
    event = json.dumps({"records": [{"recordId": r.record_id, "data": r.data} for r in big]})
    parsed = [InputRecord(r["recordId"], r["data"]) for r in json.loads(event)["records"]]
    del event
    screen(parsed, options, replay)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    template = load_template(ROOT / "template.yaml")
    function = template["Resources"]["PiiRedactionFunction"]["Properties"]
    memory_mb = function.get("MemorySize", template["Globals"]["Function"]["MemorySize"])
    print(f"6 MB invocation ({len(big)} records, event {event_size / 1e6:.2f} MB): peak Python memory "
          f"{peak / 2**20:.1f} MiB of the template's {memory_mb} MB ({peak / 2**20 / memory_mb:.1%})")


if __name__ == "__main__":
    main()
