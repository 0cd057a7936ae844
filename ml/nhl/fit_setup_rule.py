"""Fits the face-off "set" rule of broadcast-derived tracking on real face-offs (and reviewers' answers).

The rule keeps its shape (`detection.is_set`: both nearest skaters within D ft of the dot and
slower than V ft/s) with the position handling it runs on (`SetRule.velocity_baseline_ms`,
`stale_ms`). Examples are the Big Data Cup 2022 power plays (`ml.nhl.bdc2022`: the play-by-play's
face-offs, which of them the tracking shows, what the rule would set at each drop). A rule scores
`dot right` (visible face-offs whose set-up current at the drop is at the right dot) and `set-ups
outside` (set-ups started away from every visible face-off's gathering). The fit takes, over a grid
of handling x D x V, the rules within one face-off of the most dots right and of those the one with
fewest set-ups outside (then the tighter). Reviewers' answers (`--manifests`: the merged augmented
manifest lines of `human_review`'s `faceoff-setup` policy) count too: each carries the features the
event had at detection, and adds a dot right when the reviewer confirmed dot and takers and the rule
sets on those features, a set-up outside when the reviewer rejected it and the rule sets.

Scores are leave-one-game-out: each game is scored by the rule fitted on the other games only. The
printed constants (fitted on every game) are copied into `SET_RULES["broadcast"]` in
`race_predictor/logic/nhl/detection.py`.

    .venv/bin/python -m ml.nhl.fit_setup_rule --data ../shared/data/nhl/bdc2022 [--manifests merged.jsonl]
    .venv/bin/python -m ml.nhl.fit_setup_rule --simulated 12   # the league rule, on simulated stoppages

The league feed's rule (`SET_RULES["league"]`) stays fitted on simulated stoppages
(`labelled_examples`, the simulator's truth, depth-2 tree): a broadcast-loose rule sets on skaters
still approaching the dot there (tests/unit/race_predictor_nhl/test_setup_rule_fit.py).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.tree import DecisionTreeClassifier, export_text

from ml.nhl import _paths, bdc2022  # noqa: F401  (_paths: race_predictor on sys.path)
from ml.nhl.simulator import simulate_game
from race_predictor.logic.nhl.detection import GameState, SetRule, StepOutput, apply_record, nearest_takers
from race_predictor.models.nhl import PositionRecord, parse_record

DISTANCES_FT = tuple(round(3.0 + 0.5 * i, 1) for i in range(15))  # 3.0 .. 10.0
SPEEDS_FPS = (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0, 30.0)
BASELINES_MS = (0, 500, 1000)
STALES_MS = (1500, 3000)
MANIFEST_DATASET = "faceoff-setup"  # human_review's faceoff-setup policy writes this dataset
SETUP_ANSWERS: dict[str, bool | None] = {"setup-right": True, "wrong-dot": False, "wrong-takers": False,
                                         "cannot-tell": None}


def labelled_examples(games: int, seed: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Simulated stoppages: (max distance, max speed) per sample, labelled by the simulator's truth."""
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


@dataclass(frozen=True)
class ManifestExample:
    max_distance_ft: float
    max_speed_fps: float
    set_right: bool


def _read_object(uri: str) -> str:
    """A manifest line's `source-ref`: an s3:// object (boto3, so AWS_ENDPOINT_URL reaches the local
    cloud) or a local path."""
    if uri.startswith("s3://"):
        import boto3  # only when a manifest points into S3

        bucket, _, key = uri[len("s3://"):].partition("/")
        body: bytes = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")
    return Path(uri.removeprefix("file://")).read_text(encoding="utf-8")


def manifest_examples(paths: list[Path], read_object: Callable[[str], str] = _read_object) -> list[ManifestExample]:
    """Reviewers' answers to the face-off setup task: one example per answered line.

    A line is human_review's classification line of the `faceoff-setup` dataset: its
    `faceoff-setup-metadata.class-name` is the answer (`setup-right`; `wrong-dot` / `wrong-takers`
    are rejections; `cannot-tell` is left out), its `source-ref` the task object, which holds the
    FaceoffPredicted event (`data.detection.max_distance_ft` / `max_speed_fps`: what the rule saw).
    Lines of other datasets are skipped; a line that does not fit fails with its file and line.
    """
    attribute = f"{MANIFEST_DATASET}-metadata"
    found: list[ManifestExample] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if attribute not in item:
                    continue
                answer = item[attribute]["class-name"]
                if answer not in SETUP_ANSWERS:
                    raise ValueError(f"class-name {answer!r} is not one of {sorted(SETUP_ANSWERS)}")
                if SETUP_ANSWERS[answer] is None:
                    continue
                task = json.loads(read_object(item["source-ref"]))
                seen = task["data"]["detection"]
                found.append(ManifestExample(float(seen["max_distance_ft"]), float(seen["max_speed_fps"]),
                                             bool(SETUP_ANSWERS[answer])))
            except (ValueError, KeyError, TypeError, OSError) as error:
                raise SystemExit(f"{path}:{number}: not a face-off setup manifest line "
                                 f"({type(error).__name__}: {error})") from None
    return found


@dataclass(frozen=True)
class Candidate:
    rule: SetRule
    dot_right: int
    setups_outside: int


def handlings() -> list[SetRule]:
    return [SetRule(distance_ft=0, speed_fps=0, velocity_baseline_ms=b, stale_ms=s)
            for b in BASELINES_MS for s in STALES_MS]


Table = dict[SetRule, dict[str, bdc2022.GameScore]]


def score_table(loaded: dict[SetRule, dict[str, list[bdc2022.Clip]]]) -> Table:
    """Every candidate rule's score on every game (the fit then only adds games up)."""
    table: Table = {}
    for handling, by_game in loaded.items():
        for distance in DISTANCES_FT:
            for speed in SPEEDS_FPS:
                rule = handling.model_copy(update={"distance_ft": distance, "speed_fps": speed})
                table[rule] = {game: bdc2022.score_game(game, clips, distance, speed) for game, clips in by_game.items()}
    return table


def fit(table: Table, games: list[str], extra: list[ManifestExample]) -> Candidate:
    """The rule chosen on these games (see the module docstring)."""
    candidates: list[Candidate] = []
    for rule, by_game in table.items():
        right = sum(by_game[game].dot_right for game in games)
        outside = sum(by_game[game].setups_outside for game in games)
        for example in extra:
            if example.max_distance_ft <= rule.distance_ft and example.max_speed_fps <= rule.speed_fps:
                right, outside = right + example.set_right, outside + (not example.set_right)
        candidates.append(Candidate(rule, right, outside))
    best = max(c.dot_right for c in candidates)
    return min((c for c in candidates if c.dot_right >= best - 1),
               key=lambda c: (c.setups_outside, c.rule.distance_ft, c.rule.speed_fps,
                              c.rule.velocity_baseline_ms, c.rule.stale_ms))


def fit_simulated(games: int) -> None:
    features, labels = labelled_examples(games)
    tree = DecisionTreeClassifier(max_depth=2, min_samples_leaf=50, random_state=0).fit(features, labels)
    print(export_text(tree, feature_names=["max_distance_ft", "max_speed_fps"], decimals=2))
    print(f"examples={len(labels)} positives={int(labels.sum())} training accuracy={tree.score(features, labels):.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=bdc2022.DEFAULT_DATA)
    parser.add_argument("--manifests", type=Path, nargs="*", default=[],
                        help="merged augmented-manifest files of the face-off setup review (local paths; "
                             "their source-ref objects are read from S3)")
    parser.add_argument("--simulated", type=int, default=0, help="fit the league rule on this many simulated games")
    args = parser.parse_args()
    if args.simulated:
        fit_simulated(args.simulated)
        return
    extra = manifest_examples(args.manifests)
    loaded = {handling: bdc2022.load(args.data, handling) for handling in handlings()}
    games = sorted(next(iter(loaded.values())))
    table = score_table(loaded)
    print(f"manifest examples: {len(extra)} ({sum(e.set_right for e in extra)} confirmed)")
    print("leave-one-game-out (each game scored by the rule fitted on the other games):")
    print(f"| {'game':32} | baseline ms | stale ms | D ft | V ft/s | face-offs | visible | dot right | "
          f"takers right / identifiable | set-ups outside |")
    totals = bdc2022.GameScore("all held-out")
    for held_out in games:
        rule = fit(table, [g for g in games if g != held_out], extra).rule
        score = table[rule][held_out]
        for name in ("faceoffs", "visible", "dot_right", "takers_identifiable", "takers_right", "setups_outside"):
            setattr(totals, name, getattr(totals, name) + getattr(score, name))
        print(f"| {held_out:32} | {rule.velocity_baseline_ms} | {rule.stale_ms} | {rule.distance_ft} | "
              f"{rule.speed_fps} | {score.faceoffs} | {score.visible} | {score.dot_right} | "
              f"{score.takers_right} / {score.takers_identifiable} | {score.setups_outside} |")
    rate = totals.dot_right / totals.visible if totals.visible else math.nan
    print(f"held-out total: {totals.faceoffs} face-offs, {totals.visible} visible, dot right {totals.dot_right} "
          f"({rate:.0%}), takers right {totals.takers_right} of {totals.takers_identifiable} identifiable, "
          f"{totals.setups_outside} set-ups outside gatherings")
    final = fit(table, games, extra)
    print(f"fitted on every game: {final.rule!r} (dot right {final.dot_right}, set-ups outside {final.setups_outside})")


if __name__ == "__main__":
    main()
