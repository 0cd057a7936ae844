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
    parser.add_argument("--speed", type=float, default=50.0, help="replay speed, × real time")
    parser.add_argument("--race", default=None, help="F1 race to replay, SEASON:ROUND (default: one from the shared data)")
    parser.add_argument("--game", default=None, help="NHL game id for the simulated game")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder of the shared data")
    return parser.parse_args(argv)


def _already_running() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


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
        for thread in threads:
            thread.join()
    return {name: results[name] for name, _ in available()}


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
            else:
                console.print(_summary_table(name, summary))
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
