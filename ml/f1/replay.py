"""Replay a race as live timing messages, posted at N x real time to the race_predictor API.

    .venv/bin/python -m ml.f1.replay --url http://127.0.0.1:4567 --season 2023 --round 1 --speed 50
    .venv/bin/python -m ml.f1.replay --url http://127.0.0.1:4567 --simulate --seed 3 --speed 0

A real race comes from the shared data (`--data`, default ../shared/data/f1); `--simulate` (or
missing data) uses the documented simulator in `simulator.py`. Messages are grouped into one POST
per `--window` seconds of race time and sent when that window closes at `--speed` x real time
(`--speed 0`: as fast as the API answers). At the end the battles are fetched and printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "f1"


@dataclass
class ReplaySummary:
    race_id: str
    source: str
    posts: int = 0
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)  # PitBattlePredicted data
    latencies_ms: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        return {
            "race_id": self.race_id, "source": self.source, "posts": self.posts, "messages": self.messages,
            "accepted": self.accepted, "duplicates": self.duplicates, "predictions": len(self.predictions),
            "errors": len(self.errors),
            "post_p50_ms": round(statistics.median(lat), 1) if lat else None,
            "post_p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None,
        }


def message_times_ms(messages: list[dict[str, Any]]) -> list[int]:
    from ml.f1.race_data import message_time_ms

    return message_time_ms(messages)


def windows(messages: list[dict[str, Any]], window_s: float) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(race time in ms at which the window closes, its messages), in order."""
    times = message_times_ms(messages)
    width = max(1, int(window_s * 1000))
    current: list[dict[str, Any]] = []
    closes = None
    for at, message in zip(times, messages, strict=True):
        slot_end = (at // width + 1) * width
        if closes is not None and slot_end != closes and current:
            yield closes, current
            current = []
        closes = slot_end
        current.append(message)
        if len(current) == 500:  # the API's batch limit
            yield closes, current
            current = []
    if current and closes is not None:
        yield closes, current


def http_json(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    if not url.startswith(("http://", "https://")):
        raise ValueError("the API URL must be http:// or https://")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 - scheme checked above
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, {"error": payload.decode(errors="replace")[:200]}


def replay(messages: list[dict[str, Any]], url: str, race_id: str, *, speed: float = 50.0, window_s: float = 5.0,
           source: str = "", sleep: Callable[[float], None] = time.sleep,
           on_post: Callable[[dict[str, Any]], None] | None = None) -> ReplaySummary:
    """Post `messages` to `url`/races/`race_id`/messages, paced at `speed` x real time."""
    summary = ReplaySummary(race_id=race_id, source=source)
    endpoint = f"{url.rstrip('/')}/races/{race_id}/messages"
    started = time.monotonic()
    for closes_ms, batch in windows(messages, window_s):
        if speed > 0:
            due = closes_ms / 1000.0 / speed
            wait = due - (time.monotonic() - started)
            if wait > 0:
                sleep(wait)
        t0 = time.perf_counter()
        status, answer = http_json("POST", endpoint, {"messages": batch})
        summary.latencies_ms.append((time.perf_counter() - t0) * 1000)
        summary.posts += 1
        summary.messages += len(batch)
        if status != 200:
            summary.errors.append(f"HTTP {status}: {json.dumps(answer)[:200]}")
            continue
        summary.accepted += answer["accepted"]
        summary.duplicates += len(answer["duplicates"])
        summary.predictions += [p["data"] for p in answer["predictions"]]
        if on_post is not None:
            on_post(answer)
    return summary


def race_source(season: int | None, round_: int | None, data_dir: Path, simulate: bool,
                seed: int = 1) -> tuple[str, str, list[dict[str, Any]]]:
    """(race_id, description, messages): a real race when asked and the data is there, else simulated."""
    if not simulate and (data_dir / "ergast" / "lap_times_2019_2023.csv").exists():
        from ml.f1 import race_data

        data = race_data.load(data_dir)
        if season is None or round_ is None:
            season, round_ = 2023, 1
        return (f"{season}-{round_:02d}", f"shared data: {season} round {round_}",
                race_data.race_messages(data, season, round_))
    from ml.f1.simulator import simulate_race

    reason = "asked" if simulate else f"no shared data at {data_dir}"
    return f"sim-{seed}", f"simulator (seed {seed}; {reason})", simulate_race(seed=seed)


def battle_lines(battles: dict[str, Any]) -> list[str]:
    """Human-readable lines: one per battle with its latest prediction and outcome."""
    lines = []
    for status in ("resolved", "open", "expired"):
        for b in battles.get(status, []):
            p = b.get("latest_prediction") or {}
            outcome = (f"swapped={b['swapped']} gap={b['gap_s']:+.3f}s" if status == "resolved" else status)
            prob = f"P(swap)={p['swap_probability']:.2f} gap~{p['predicted_gap_s']:+.1f}s@L{p['lap']}" if p else "-"
            lines.append(f"{b['battle_id']:<16} {b['kind']:<8} {b['first_stopper']} first, "
                         f"gap {b['gap_before_s']:.2f}s | {prob} | {outcome}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="base URL of the API (local API Gateway or any URL)")
    parser.add_argument("--season", type=int)
    parser.add_argument("--round", type=int)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared f1/ folder")
    parser.add_argument("--simulate", action="store_true", help="replay a simulated race instead")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=50.0, help="x real time; 0 = as fast as possible")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of race time per POST")
    parser.add_argument("--race-id", help="override the race id used in the URL")
    args = parser.parse_args(argv)
    race_id, source, messages = race_source(args.season, args.round, args.data, args.simulate, args.seed)
    race_id = args.race_id or race_id
    print(f"replaying {source} as race {race_id}: {len(messages)} messages at {args.speed}x")
    summary = replay(messages, args.url, race_id, speed=args.speed, window_s=args.window, source=source)
    print(json.dumps(summary.figures(), indent=1))
    status, battles = http_json("GET", f"{args.url.rstrip('/')}/races/{race_id}/battles")
    if status == 200:
        print("\n".join(battle_lines(battles)))
    return 0 if not summary.errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
