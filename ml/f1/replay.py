"""Replay a race as live timing messages, posted at N x real time to the race_predictor API.

    .venv/bin/python -m ml.f1.replay --url http://127.0.0.1:4567 --season 2023 --round 1 --speed 50
    .venv/bin/python -m ml.f1.replay --url http://127.0.0.1:4567 --simulate --seed 3 --speed 0

Scoring a whole season through the API (issue 18.4: what the service publishes, nothing else):

    nice -n 10 .venv/bin/python -m ml.f1.replay --season 2023 --score ml/f1/artifacts/replay_2023.json \
        --local --model ml/f1/artifacts/holdout/f1_pit_battle.json --speed 0 --window 60

`--local` starts the local cloud (`local.cloud.LocalCloud`: moto, API Gateway, the function from its
built artifact) with F1_MODEL_MANIFEST pointing at `--model` (the model trained without that
season); `--url` scores a running API instead. Every round is replayed, the published
`PitBattlePredicted` data are collected from the POST answers and the outcomes from
`GET /races/{id}/battles`; `--model`'s manifest gives the baselines (training swap rate, gap-only
logistic), scored on the same cases.

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


def season_outcomes(url: str, race_ids: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    """(race id, battle id) -> the battle record (status, swapped, gap_before_s) from the API."""
    outcomes = {}
    for race_id in race_ids:
        status, battles = http_json("GET", f"{url.rstrip('/')}/races/{race_id}/battles")
        if status != 200:
            raise RuntimeError(f"GET battles of {race_id}: HTTP {status}")
        for kind in ("resolved", "expired", "open"):
            for battle in battles.get(kind, []):
                outcomes[(race_id, battle["battle_id"])] = battle
    return outcomes


def score_season(predictions: list[dict[str, Any]], outcomes: dict[tuple[str, str], dict[str, Any]],
                 manifest: dict[str, Any]) -> dict[str, Any]:
    """Scores of the published predictions: swap at the opening lap (resolved battles) beside the
    baselines, and per lap since opening both models on every published prediction."""
    import numpy as np

    from ml.f1.scoring import (
        bootstrap_difference,
        bootstrap_interval,
        calibration_error,
        calibration_table,
        scores,
    )

    base = manifest["baselines"]
    rows = []
    for p in predictions:
        battle = outcomes.get((p["race_id"], p["battle_id"]))
        if battle is None or battle["status"] == "open":
            continue
        gap = float(battle["gap_before_s"])
        rows.append({"key": f"{p['race_id']}/{p['battle_id']}", "lap": p["lap"] - p["opened_lap"],
                     "resolved": int(battle["status"] == "resolved"), "swapped": int(bool(battle.get("swapped"))),
                     "p_swap": p["swap_probability"], "p_resolve": p.get("resolve_probability"),
                     "p_logistic": 1 / (1 + np.exp(-(base["gap_logistic"]["coef"] * gap
                                                     + base["gap_logistic"]["intercept"])))})
    opening = [r for r in rows if r["lap"] == 0 and r["resolved"]]
    y = np.array([r["swapped"] for r in opening])
    p_model, p_log = np.array([r["p_swap"] for r in opening]), np.array([r["p_logistic"] for r in opening])
    keys = [r["key"] for r in opening]
    p_base = np.full(len(opening), base["base_rate"])
    result: dict[str, Any] = {
        "model_version": predictions[0]["model_version"] if predictions else None,
        "published_predictions": len(predictions),
        "battles": {"resolved": sum(1 for b in outcomes.values() if b["status"] == "resolved"),
                    "expired": sum(1 for b in outcomes.values() if b["status"] == "expired")},
        "predictions_on_expired_battles": sum(1 for r in rows if not r["resolved"]),
        "opening": {
            "battles": len(opening), "swap_rate": round(float(y.mean()), 4),
            "model": {**scores(y, p_model), "calibration_error": calibration_error(y, p_model),
                      "brier_ci": bootstrap_interval(y, p_model, keys, "brier"),
                      "auc_ci": bootstrap_interval(y, p_model, keys, "auc"),
                      "calibration_error_ci": bootstrap_interval(y, p_model, keys, "calibration_error")},
            "base_rate": scores(y, p_base),
            "gap_logistic": {**scores(y, p_log), "calibration_error": calibration_error(y, p_log)},
            "brier_minus_base_rate": bootstrap_difference(y, p_model, p_base, keys),
            "brier_minus_gap_logistic": bootstrap_difference(y, p_model, p_log, keys),
            "calibration": calibration_table(y, p_model),
        },
        "per_lap": [],
    }
    for lap in sorted({r["lap"] for r in rows}):
        at = [r for r in rows if r["lap"] == lap]
        resolved = [r for r in at if r["resolved"]]
        resolve_y = [r["resolved"] for r in at]
        resolve_p = [r["p_resolve"] for r in at]
        entry: dict[str, Any] = {
            "laps_since_open": lap, "predictions": len(at), "resolved": len(resolved),
            "swap": scores([r["swapped"] for r in resolved], [r["p_swap"] for r in resolved]),
            "swap_gap_logistic": scores([r["swapped"] for r in resolved], [r["p_logistic"] for r in resolved]),
        }
        if all(v is not None for v in resolve_p):
            entry["resolve"] = {**scores(resolve_y, resolve_p),
                                "calibration_error": calibration_error(resolve_y, resolve_p)}
            entry["resolve_base_rate"] = scores(resolve_y, [base["resolve_rate"]] * len(at))
        result["per_lap"].append(entry)
    every = [r for r in rows if r["p_resolve"] is not None]
    if every:
        ry, rp = [r["resolved"] for r in every], [r["p_resolve"] for r in every]
        result["resolve_all"] = {**scores(ry, rp), "calibration_error": calibration_error(ry, rp),
                                 "calibration": calibration_table(ry, rp)}
    return result


def replay_season(url: str, season: int, data_dir: Path, speed: float, window_s: float,
                  suffix: str = "") -> tuple[list[dict[str, Any]], dict[tuple[str, str], dict[str, Any]], list[str]]:
    from ml.f1 import race_data

    data = race_data.load(data_dir)
    predictions, race_ids, errors = [], [], []
    for season_, round_ in race_data.available_races(data, [season]):
        race_id = f"{season_}-{round_:02d}{suffix}"
        summary = replay(race_data.race_messages(data, season_, round_), url, race_id, speed=speed,
                         window_s=window_s, source=f"{season_}:{round_}")
        print(json.dumps(summary.figures()), flush=True)
        predictions += summary.predictions
        errors += summary.errors
        race_ids.append(race_id)
    return predictions, season_outcomes(url, race_ids), errors


def score_command(args: argparse.Namespace) -> int:
    manifest_path = args.model.resolve()
    manifest = json.loads(manifest_path.read_text())
    if args.url:
        predictions, outcomes, errors = replay_season(args.url, args.season, args.data, args.speed, args.window,
                                                      args.race_id or "")
    else:
        import sys

        sys.path[:0] = [str(REPO / "shared"), *(str(p) for p in sorted((REPO / "services").iterdir()) if p.is_dir())]
        from local.cloud import LocalCloud, Ports

        class _Cloud(LocalCloud):
            def base_environment(self) -> dict[str, str]:
                return super().base_environment() | {"F1_MODEL_MANIFEST": str(manifest_path)}

        with _Cloud(ports=Ports(moto=0, api=0, comprehend=0, firehose=0, a2i=0, dashboard=0)) as cloud:
            predictions, outcomes, errors = replay_season(cloud.api_url, args.season, args.data, args.speed,
                                                          args.window)
    if predictions and predictions[0]["model_version"] != manifest["model_version"]:
        raise SystemExit(f"the API served {predictions[0]['model_version']}, not {manifest['model_version']}")
    result = {"season": args.season, "replay": {"speed": args.speed, "window_s": args.window},
              "errors": len(errors), **score_season(predictions, outcomes, manifest)}
    args.score.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("model_version", "published_predictions", "battles", "opening")},
                     indent=1))
    return 0 if not errors else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="base URL of the API (local API Gateway or any URL)")
    parser.add_argument("--score", type=Path, help="replay every round of --season and write its scores here")
    parser.add_argument("--local", action="store_true", help="with --score: start the local cloud to replay into")
    parser.add_argument("--model", type=Path, default=REPO / "services" / "race_predictor" / "race_predictor"
                        / "artifacts" / "f1_pit_battle.json", help="with --score: the served model's manifest")
    parser.add_argument("--season", type=int)
    parser.add_argument("--round", type=int)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared f1/ folder")
    parser.add_argument("--simulate", action="store_true", help="replay a simulated race instead")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=50.0, help="x real time; 0 = as fast as possible")
    parser.add_argument("--window", type=float, default=5.0, help="seconds of race time per POST")
    parser.add_argument("--race-id", help="override the race id used in the URL")
    args = parser.parse_args(argv)
    if args.score:
        if args.season is None or not (args.url or args.local):
            parser.error("--score needs --season and --url or --local")
        return score_command(args)
    if not args.url:
        parser.error("--url is required")
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
