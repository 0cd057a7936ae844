"""Loads the player-stats table from the shared NHL data: every player's face-off record to date.

Replays all three face-off files in order (the same replay as training) and writes one item per
player with an NHL id. Point it at the local cloud with AWS_ENDPOINT_URL_DYNAMODB, or at AWS.

    .venv/bin/python -m ml.nhl.load_player_stats --data ../shared/data/nhl --table <PlayerStatsTable>
    .venv/bin/python -m ml.nhl.load_player_stats ... --until-season 20232024   # before a hold-out replay
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.nhl import _paths  # noqa: F401
from ml.nhl.dataset import replay
from race_predictor.logic.nhl.features import PlayerFaceoffRecord

ROOT = Path(__file__).resolve().parents[2]


def player_records(data_dir: Path, until_season: int | None = None) -> list[PlayerFaceoffRecord]:
    """Records of every player known by NHL id (players known only by name are left out), from every
    face-off of the data, or only those before `until_season` (the state a hold-out replay starts from)."""
    state = replay(data_dir, emit_examples=False, until_season=until_season)
    return [record for key, record in state.records.items() if key.isdigit()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "nhl")
    parser.add_argument("--table", required=True)
    parser.add_argument("--until-season", type=int, default=None,
                        help="load only face-offs before this season (e.g. 20232024 before replaying it)")
    args = parser.parse_args()
    from race_predictor.adapters.player_stats import DynamoPlayerStats

    written = DynamoPlayerStats(args.table).load_all(player_records(args.data, args.until_season))
    print(f"loaded {written} player records into {args.table}")


if __name__ == "__main__":
    main()
