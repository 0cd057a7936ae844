"""Demo of the F1 pit-battle predictor: a race replayed as timing messages through the local API.

A thin wrapper around `ml.f1.replay`: a real race from the shared data (`--race SEASON:ROUND`,
default 2023 round 1) or, without the data, a simulated one, posted at `--speed` x real time to the
local API Gateway; then the battles with their latest predictions and outcomes are read back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.dynamodb_capacity import CapacityMeter
from ml.f1.replay import battle_lines, http_json, race_source, replay


def run_demo(cloud: Any, options: Any = None) -> dict[str, Any]:
    speed = float(getattr(options, "speed", 50.0) or 0.0)
    data_root = Path(getattr(options, "data", None) or Path(__file__).resolve().parents[3] / "shared" / "data")
    season = round_ = None
    if getattr(options, "race", None):
        season_text, round_text = str(options.race).split(":", 1)
        season, round_ = int(season_text), int(round_text)
    race_id, source, messages = race_source(season, round_, data_root / "f1", simulate=False)
    progress = getattr(options, "progress", None)
    bar = progress.stream("F1 timing messages", total=len(messages)) if progress else None

    def on_post(answer: dict[str, Any]) -> None:
        if bar is not None:
            handled = answer["accepted"] + len(answer["duplicates"])
            bar.sent(handled)
            bar.processed(handled)

    # The race's state item as each POST wrote it (moto runs in this process): its largest size is
    # the summary's figure for issue 17 (bounded state), beside the POST latencies.
    meter = CapacityMeter(tables=(cloud.physical_id("RaceStateTable"),))
    with meter.metering():
        summary = replay(messages, cloud.api_url, race_id, speed=speed, source=source, on_post=on_post)
    state_sizes = [size for record in meter.records for pk, sk, size in record.written
                   if pk == f"F1#{race_id}" and sk == "STATE"]
    status, battles = http_json("GET", f"{cloud.api_url}/races/{race_id}/battles")
    lines = battle_lines(battles) if status == 200 else [f"GET battles: HTTP {status}"]
    figures = summary.figures()
    resolved = battles.get("resolved", []) if status == 200 else []
    called = [b for b in resolved if b.get("latest_prediction")]
    hits = sum(1 for b in called if (b["latest_prediction"]["swap_probability"] >= 0.5) == b["swapped"])
    return {
        **figures,
        "largest_state_kb": round(max(state_sizes) / 1024, 2) if state_sizes else None,
        "battles": {k: len(battles.get(k, [])) for k in ("open", "resolved", "expired")} if status == 200 else None,
        "latest_prediction_right": f"{hits}/{len(called)}",
        "battle_lines": lines[:25],
        "ok": not summary.errors and status == 200 and figures["predictions"] > 0,
    }
