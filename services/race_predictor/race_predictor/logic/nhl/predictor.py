"""The face-off model as the function runs it: the tree evaluator of `common.inference`, with a cache.

Owns turning feature rows into home-win probabilities in one grouped call, and remembering each
probability by its exact input row, so an input combination is never scored twice in a process.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

from race_predictor.logic.common.inference import MODELS_DIR, load_bundle
from race_predictor.logic.nhl.features import FEATURE_NAMES

MANIFEST = MODELS_DIR / "nhl_faceoff.json"
CACHE_SIZE = 4096
HASH_CHARS = 8  # model_version ends with "-" and this many hex digits of the trees file's SHA-256


def artifact_hash(manifest: Path = MANIFEST) -> str:
    """The first HASH_CHARS hex digits of the SHA-256 of the trees file(s) the manifest names, in order."""
    names = json.loads(manifest.read_text())["models"].values()
    return hashlib.sha256(b"".join((manifest.parent / name).read_bytes() for name in names)).hexdigest()[:HASH_CHARS]


class FaceoffModel:
    """`home_win_probabilities(rows)` -> one probability per row; rows in FEATURE_NAMES order."""

    def __init__(self, manifest: Path = MANIFEST) -> None:
        bundle = load_bundle(manifest)
        if tuple(bundle.manifest["features"]) != FEATURE_NAMES:
            raise RuntimeError(f"{manifest.name}: features differ from race_predictor.logic.nhl.features")
        # Issue 18.10: the version names the exact artifact, and a manifest beside other trees fails loudly.
        digest = artifact_hash(manifest)
        if not bundle.version.endswith(f"-{digest}"):
            raise RuntimeError(f"{manifest.name}: model_version {bundle.version!r} does not end with the "
                               f"trees' hash -{digest}")
        self.version = bundle.version
        self._model = bundle.models["home_win"]
        self._cache: OrderedDict[tuple[float, ...], float] = OrderedDict()
        self.model_calls = 0
        self.rows_scored = 0

    def home_win_probabilities(self, rows: Sequence[Sequence[float]]) -> list[float]:
        keys = [tuple(float(x) for x in row) for row in rows]
        missing = list(dict.fromkeys(key for key in keys if key not in self._cache))
        if missing:
            probabilities = self._model.predict(missing)
            self.model_calls += 1
            self.rows_scored += len(missing)
            for key, probability in zip(missing, probabilities, strict=True):
                self._cache[key] = probability
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return [self._cache[key] for key in keys]
