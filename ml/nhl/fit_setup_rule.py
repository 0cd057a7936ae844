"""Fits the face-off "set" cut-offs (distance to the dot, speed) with a depth-2 decision tree.

Labelled examples: every tracking sample during simulated stoppages, described as detection sees it
(the nearest home and away skaters to the best dot: the larger of their distances and of their
smoothed speeds) and labelled by the simulator's truth (both takers on their spot for 0.4 s). The
printed thresholds are copied into `race_predictor/nhl/detection.py` as plain constants.

    .venv/bin/python -m ml.nhl.fit_setup_rule --games 12
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.tree import DecisionTreeClassifier, export_text

from ml.nhl import _paths  # noqa: F401
from ml.nhl.simulator import simulate_game
from race_predictor.logic.nhl.detection import GameState, StepOutput, apply_record, nearest_takers
from race_predictor.models.nhl import PositionRecord, parse_record


def labelled_examples(games: int, seed: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rows: list[tuple[float, float]] = []
    labels: list[int] = []
    for index in range(games):
        noise = [0.1, 0.25, 0.4][index % 3]
        game = simulate_game(f"fit-{index}", seed=seed + index, noise_ft=noise)
        truth = {frame["ts_ms"]: frame["settled"] for frame in game.frames}
        state, sink = GameState(game_id=game.game_id), StepOutput()
        for raw in game.records:
            record = parse_record(raw)
            apply_record(state, record, sink)
            if isinstance(record, PositionRecord) and record.ts_ms in truth:
                found = nearest_takers(state, record.ts_ms)
                if found is not None:
                    rows.append((max(found[3], found[4]), max(found[5], found[6])))
                    labels.append(int(truth[record.ts_ms]))
    return np.asarray(rows), np.asarray(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--games", type=int, default=12)
    args = parser.parse_args()
    features, labels = labelled_examples(args.games)
    tree = DecisionTreeClassifier(max_depth=2, min_samples_leaf=50, random_state=0).fit(features, labels)
    print(export_text(tree, feature_names=["max_distance_ft", "max_speed_fps"], decimals=2))
    print(f"examples={len(labels)} positives={int(labels.sum())} training accuracy={tree.score(features, labels):.4f}")
    names = ["max_distance_ft", "max_speed_fps"]
    for node, feature in enumerate(tree.tree_.feature):
        if feature >= 0:
            print(f"node {node}: {names[feature]} <= {tree.tree_.threshold[node]:.2f}")


if __name__ == "__main__":
    main()
