"""Scores face-off detection on real tracking: the Big Data Cup 2022 broadcast-derived power plays.

Per game: play-by-play face-offs inside tracked windows, how many the tracking shows (visible),
for how many the set-up current at the drop is at the right dot, and for how many of those the two
takers are the play-by-play's players (where both jerseys were read). Definitions in
`ml/nhl/bdc2022.py`; the shipped rules are `race_predictor.logic.nhl.detection.SET_RULES`. These
are in-sample for the broadcast rule (it was fitted on these games); the held-out figures are
printed by `ml.nhl.fit_setup_rule` (leave-one-game-out).

    .venv/bin/python -m ml.nhl.eval_bdc2022 --data ../shared/data/nhl/bdc2022
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.nhl import _paths, bdc2022  # noqa: F401  (_paths: race_predictor on sys.path)
from race_predictor.logic.nhl.detection import SET_RULES


def report(data: Path, tracking: str) -> bdc2022.GameScore:
    rule = SET_RULES[tracking]  # type: ignore[index]
    games = bdc2022.load(data, rule)
    print(f"rule {tracking!r}: {rule!r}")
    print("| game | face-offs | visible | dot right | takers right / identifiable | set-ups outside |")
    print("|---|---|---|---|---|---|")
    total = bdc2022.GameScore("all")
    for game, clips in sorted(games.items()):
        score = bdc2022.score_game(game, clips, rule.distance_ft, rule.speed_fps)
        for name in ("faceoffs", "visible", "dot_right", "takers_identifiable", "takers_right", "setups_outside"):
            setattr(total, name, getattr(total, name) + getattr(score, name))
        print(f"| {game} | {score.faceoffs} | {score.visible} | {score.dot_right} | "
              f"{score.takers_right} / {score.takers_identifiable} | {score.setups_outside} |")
    print(f"| all | {total.faceoffs} | {total.visible} | {total.dot_right} | "
          f"{total.takers_right} / {total.takers_identifiable} | {total.setups_outside} |")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=bdc2022.DEFAULT_DATA)
    parser.add_argument("--tracking", choices=sorted(SET_RULES), nargs="*", default=["broadcast", "league"])
    args = parser.parse_args()
    for tracking in args.tracking:
        report(args.data, tracking)


if __name__ == "__main__":
    main()
