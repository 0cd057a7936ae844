"""Replays a season of face-offs in order through the face-off API, results fed back, and scores it.

For each face-off: `POST /faceoffs/predict` (who takes it, the situation), then `POST
/faceoffs/results` (who won), exactly what a client of the service does; nothing else reaches the
service. The player stats must start as the loader leaves them before the season
(`python -m ml.nhl.load_player_stats --until-season 20232024 ...`). Against the live local API:

    .venv/bin/python -m ml.nhl.replay --data ../shared/data/nhl --url http://127.0.0.1:4567 --season 20232024

`python -m ml.nhl.train` runs the same replay in-process (the service's own `predict` and
`record_result`, in-memory player stats) for the model card.
"""

from __future__ import annotations

import argparse
import json
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ml.nhl import _paths  # noqa: F401
from race_predictor.logic.nhl.features import FaceoffSituation

ROOT = Path(__file__).resolve().parents[2]
Poster = Callable[[str, dict[str, Any]], dict[str, Any]]


def request_body(home_id: int, away_id: int, situation: FaceoffSituation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "home_player_id": home_id, "away_player_id": away_id, "zone": situation.zone,
        "period": situation.period, "seconds_elapsed": situation.seconds_elapsed,
        "home_skaters": situation.home_skaters, "away_skaters": situation.away_skaters,
        "score_diff": situation.score_diff, "season": situation.season}
    if situation.home_side is not None:
        body["home_side"] = situation.home_side
    return body


Faceoff = tuple[int, int, FaceoffSituation, bool, bool]  # home, away, situation, home_won, scored


def replay_faceoffs(post: Poster, faceoffs: Iterable[Faceoff]) -> list[float]:
    """Predict (the scored ones) then record each face-off in order; the published home-win probabilities.

    A face-off whose situation the data lacks is not scored but its result is still fed back, as a
    live client would post every result.
    """
    published = []
    for home_id, away_id, situation, home_won, scored in faceoffs:
        body = request_body(home_id, away_id, situation)
        if scored:
            published.append(float(post("/faceoffs/predict", body)["home_win_probability"]))
        post("/faceoffs/results", {**body, "winner_id": home_id if home_won else away_id})
    return published


def http_poster(base_url: str) -> Poster:
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        # The operator's own API URL (http or https, given on the command line).
        request = urllib.request.Request(base_url.rstrip("/") + path, data=json.dumps(body).encode(),  # noqa: S310
                                         headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return dict(json.loads(response.read()))
    return post


def season_faceoffs(data_dir: Path, season: int) -> list[Faceoff]:
    """The season's face-offs in order (the hold-out sequence of training)."""
    from ml.nhl.dataset import replay

    return replay(data_dir, holdout_season=season).holdout_sequence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhl")
    parser.add_argument("--url", required=True, help="base URL of the race_predictor API")
    parser.add_argument("--season", type=int, default=20232024)
    parser.add_argument("--limit", type=int, default=0, help="only the first N face-offs (0: all)")
    args = parser.parse_args()
    import numpy as np

    from ml.nhl.train import scores

    faceoffs = season_faceoffs(args.data, args.season)
    if args.limit:
        faceoffs = faceoffs[:args.limit]
    published = replay_faceoffs(http_poster(args.url), faceoffs)
    y = np.asarray([won for *_, won, scored in faceoffs if scored], dtype=float)
    print(json.dumps(scores(y, np.asarray(published)), indent=2))


if __name__ == "__main__":
    main()
