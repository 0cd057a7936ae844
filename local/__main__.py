"""`make run`: start the local cloud, deploy template.yaml, play the sample streams, show results.

    python -m local [--once] [--port 4566] [--speed N] [--race SEASON:ROUND] [--game ID]

Serves until Ctrl-C unless --once. A second run while one is running says so and exits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
# The demos use the shared layer and the services' packages as the tests do (see pyproject.toml).
sys.path[:0] = [str(_ROOT / "shared"), *(str(p) for p in sorted((_ROOT / "services").iterdir()) if p.is_dir())]

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from local.cloud import ROOT, LocalCloud, Ports, port_in_use  # noqa: E402
from local.demos import available, call  # noqa: E402
from local.demos.progress import StreamProgress  # noqa: E402

PID_FILE = ROOT / ".local" / "run.pid"
console = Console()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run ARGS=...", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="exit after the sample run (status 0 when it worked)")
    parser.add_argument("--port", type=int, default=4566,
                        help="first port: moto on PORT, API on PORT+1, Comprehend +2, Firehose +3, A2I +4, dashboard +5")
    parser.add_argument("--speed", type=float, default=100.0, help="replay speed, × real time (0 = as fast as possible)")
    parser.add_argument("--race", default=None, help="F1 race to replay, SEASON:ROUND (default: one from the shared data)")
    parser.add_argument("--game", default=None, help="NHL game id for the simulated game")
    parser.add_argument("--verbose", action="store_true", help="also print every demo's full figures")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder of the shared data")
    return parser.parse_args(argv)


def _already_running() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
        # The file may outlive a killed run and its pid be reused: check that it is still us.
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid if b"-m local" in command else None


def _ports(first: int) -> Ports:
    return Ports(moto=first, api=first + 1, comprehend=first + 2, firehose=first + 3, a2i=first + 4, dashboard=first + 5)


def _summary_table(name: str, summary: dict[str, Any]) -> Table:
    table = Table(title=name, show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", overflow="fold")
    for key, value in summary.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        table.add_row(key, text)
    return table


def _run_demos(cloud: LocalCloud, options: argparse.Namespace) -> dict[str, tuple[dict[str, Any], str | None]]:
    """Play every service's sample stream at once, one thread each, with a progress bar per stream."""
    results: dict[str, tuple[dict[str, Any], str | None]] = {}

    def play(name: str, demo: Any) -> None:
        try:
            results[name] = (call(demo, cloud, options), None)
        except Exception as error:  # noqa: BLE001 - one demo failing must not hide the others
            results[name] = ({}, f"{type(error).__name__}: {error}")

    with StreamProgress(enabled=console.is_terminal) as progress:
        options.progress = progress
        threads = [threading.Thread(target=play, args=(name, demo), name=f"demo-{name}") for name, demo in available()]
        for thread in threads:
            thread.start()
        bus_streams = _BusStreams(cloud, progress)
        while any(thread.is_alive() for thread in threads):
            bus_streams.refresh()
            time.sleep(0.5)
        bus_streams.refresh()
    options.bus_streams = bus_streams.figures()
    return {name: results[name] for name, _ in available()}


class _BusStreams:
    """Bars for the flows between services, read off the bus (the dashboard's own subscription)
    and the local SQS pollers: predictions to human review, usage to the cost calculator."""

    def __init__(self, cloud: LocalCloud, progress: StreamProgress) -> None:
        self.cloud = cloud
        self.review = progress.stream("human review loops")
        self.usage = progress.stream("usage → cost calculator")

    def _count(self, *detail_types: str) -> int:
        feed = self.cloud._feed
        if feed is None:
            return 0
        with feed.lock:
            return sum(feed.state.counts.get(name, 0) for name in detail_types)

    def _delivered(self, function: str) -> int:
        return sum(p.delivered for p in self.cloud.pollers if p.name == f"sqs:{function}")

    def refresh(self) -> None:
        for bar, sent, processed in (
            (self.review, self._count("HumanReviewRequested"), self._count("HumanReviewCompleted")),
            (self.usage, self._count("ComprehendUsage", "EndpointTraffic"), self._delivered("CostUsageConsumerFunction")),
        ):
            bar.sent(sent - bar.sent_count)
            bar.processed(processed - bar.processed_count)

    def figures(self) -> dict[str, Any]:
        return {"review_loops": self.review.figures(), "usage_events": self.usage.figures()}


def _final_summary(cloud: LocalCloud, demos: dict[str, dict[str, Any]], options: argparse.Namespace) -> Table:
    """One table, a row per service, with the figures that matter; read from the demos' results and
    from the events the services published (the dashboard's subscription)."""
    from pitwall_shared.pricing import current_prices

    feed = cloud._feed
    counts = dict(feed.state.counts) if feed else {}
    entities = dict(feed.state.pii["entities"]) if feed else {}
    usage = dict(feed.state.cost["usage"]) if feed else {}
    recommendations = dict(feed.state.cost["recommendations"]) if feed else {}
    prices = current_prices()
    unit_price = {"ContainsPiiEntities": prices.contains_pii_unit, "DetectPiiEntities": prices.detect_pii_unit}
    comprehend = "; ".join(
        f"{api}: {line['requests']} requests, {line['billed_units']} units, ${line['billed_units'] * unit_price[api]}"
        for api, line in sorted(usage.items()) if api in unit_price) or "none"
    pii, f1, nhl = demos.get("pii", {}), demos.get("race_f1", {}), demos.get("race_nhl", {})
    cost, review = demos.get("cost", {}), demos.get("human_review", {})
    battles = f1.get("battles") or {}
    table = Table(title="Pitwall sample run", show_header=True, header_style="bold", expand=True)
    table.add_column("service", no_wrap=True)
    table.add_column("what happened", overflow="fold")
    table.add_row("pii_redaction", (
        f"{pii.get('records_sent', '?')} records put on Firehose, {pii.get('redacted_records', '?')} landed redacted "
        f"({pii.get('redacted_records_with_masks', '?')} with masks, "
        f"{pii.get('stream_pii_records_left_unmasked', '?')} with PII left unmasked), "
        f"{pii.get('error_records', '?')} under the error prefix, {pii.get('raw_backup_records', '?')} in the raw "
        f"backup; golden record as Comprehend's published result: {pii.get('golden_matches_issue')}; entities masked: "
        + (", ".join(f"{k} {v}" for k, v in sorted(entities.items(), key=lambda kv: -kv[1])) or "none")))
    table.add_row("race_predictor F1", (
        f"{f1.get('source', '?')}: {f1.get('messages', '?')} timing messages in {f1.get('posts', '?')} POSTs; "
        f"{battles.get('resolved', '?')} battles resolved, {battles.get('expired', '?')} expired; "
        f"{f1.get('predictions', '?')} predictions published ({counts.get('PitBattlePredicted', 0)} seen on the bus), "
        f"latest call right {f1.get('latest_prediction_right', '?')}; POST p50 {f1.get('post_p50_ms', '?')} ms, "
        f"p99 {f1.get('post_p99_ms', '?')} ms; largest race state item {f1.get('largest_state_kb', '?')} KB"))
    table.add_row("race_predictor NHL", (
        f"{nhl.get('tracking_records', '?')} tracking records → {nhl.get('faceoffs_simulated', '?')} face-offs, "
        f"{nhl.get('predictions_published', '?')} predictions published "
        f"({nhl.get('setups_expected', '?')} expected, {nhl.get('duplicate_predictions', '?')} duplicates)"))
    table.add_row("human_review", (
        f"{counts.get('HumanReviewRequested', 0)} loops started {review.get('loops started by policy', '?')}, "
        f"{counts.get('HumanReviewCompleted', 0)} completed; forecasts closed by ground truth "
        f"{review.get('forecasts closed by ground truth', '?')}; PII review answered on the reviewer page "
        f"({review.get('PII answer (reviewer page API)', '?')}) → {review.get('PII manifest part', '?')}; "
        f"setup review: {review.get('setup review', '?')}; manifest lines {review.get('manifest lines written', '?')}"))
    table.add_row("retrain", str(review.get("retrain", "?")))
    table.add_row("cost_calculator", (
        "; ".join(f"{k}: {v}" for k, v in cost.items() if k.startswith(("endpoint", "pii"))) + "; Comprehend used by "
        f"the PII stream: {comprehend}; recommendations: "
        + (", ".join(f"{name} {r['configured_inference_units']}→{r['recommended_inference_units']} IU"
                     for name, r in recommendations.items()) or "none")))
    table.add_row("event bus", "events seen: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return table


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    other = _already_running()
    if other is not None:
        console.print(f"[red]The local cloud is already running (pid {other}). Stop it with Ctrl-C in its "
                      f"terminal, or `kill {other}`, then run again.[/red]")
        return 2
    ports = _ports(options.port)
    busy = [f"{name} {port}" for name, port in vars(ports).items() if port_in_use(port)]
    if busy:
        console.print(f"[red]Port(s) in use: {', '.join(busy)}. Free them, or pick other ports with "
                      f"`make run ARGS=\"--port N\"` (uses N to N+5).[/red]")
        return 2
    PID_FILE.parent.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(str(os.getpid()))
    started = time.monotonic()
    cloud = LocalCloud(ports=ports, dashboard=True)
    failures = 0
    try:
        with console.status("starting the local cloud and deploying template.yaml ..."):
            cloud.start()
        console.print(f"[green]local cloud up[/green] in {time.monotonic() - started:.1f}s: "
                      f"moto {cloud.moto_url}, API {cloud.api_url}, "
                      f"{len(cloud.resources)} resources, {len(cloud.runner.specs) if cloud.runner else 0} functions")
        if cloud.dashboard_url:
            console.print(f"[bold]dashboard[/bold] {cloud.dashboard_url}")
        results = _run_demos(cloud, options)
        for name, (summary, error) in results.items():
            if error is not None:
                failures += 1
                console.print(f"[red]{name}: demo failed: {error}[/red]")
            elif options.verbose:
                console.print(_summary_table(name, summary))
        time.sleep(1.5)  # let the last events reach the dashboard's queue before summing them up
        demos = {name: summary for name, (summary, _) in results.items()}
        console.print(_final_summary(cloud, demos, options))
        golden = {k.removeprefix("golden_").removesuffix("_from_s3"): v
                  for k, v in demos.get("pii", {}).items() if k.startswith("golden_") and k.endswith("_from_s3")}
        if golden:
            console.print("[bold]golden record, as read back from the redacted bucket:[/bold]")
            console.print_json(json.dumps(golden))
        console.print(f"sample run finished in {time.monotonic() - started:.1f}s")
        if options.once:
            return 1 if failures else 0
        console.print(f"serving; API at {cloud.api_url} — Ctrl-C to stop")
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        with console.status("stopping ..."):
            cloud.stop()
        PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
