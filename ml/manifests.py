"""Read the augmented manifests human review writes, for the next training set (issue 19 item 4).

Generic over the model: a location is an `s3://bucket/prefix` (every object under it) or a local
file or folder (every `*.jsonl` / `*.manifest` under it), holding Ground Truth augmented-manifest
lines — the merged `augmented.manifest` or the per-loop parts (`manifests/parts/<dataset>/`). Lines
are split on "\\n" only and read strictly (`pitwall_shared`); one line per source (`source-ref`, or
`source` for inline text): a later line of the same source replaces an earlier one, as the merge
command does. `labels(lines, attribute)` gives the class each line settled on for one label
attribute (the policy's `dataset`), and where it came from: `ground-truth` (the world answered) or
`human` (a reviewer). Used by `ml.f1.train --manifests` and the face-off setup refit.

    from ml.manifests import labels, read_manifest_lines
    found = labels(read_manifest_lines("s3://review-bucket/manifests/parts/pit-battle-swap/"), "pit-battle-swap")
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ml.nhl import _paths  # noqa: F401 - pitwall_shared on the path outside pytest
from pitwall_shared.inputs import read_json
from pitwall_shared.jsonlines import split_lines

MANIFEST_SUFFIXES = (".jsonl", ".manifest")
SOURCE_KEYS = ("source-ref", "source")


class ManifestReadError(ValueError):
    """A manifest line that is not an augmented-manifest line (names the object and line)."""


@dataclass(frozen=True)
class Label:
    """The label one manifest line gives one attribute."""

    source_ref: str | None  # s3:// URI of the task object (the prediction's JSON, an image)
    source: str | None  # inline text, for text tasks
    class_name: str | None  # classification: metadata class-name; others: None (see `line`)
    origin: str  # "ground-truth" or "human"
    line: dict[str, Any]


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


def _s3_client(s3: Any) -> Any:
    if s3 is not None:
        return s3
    import boto3  # the AWS SDK's own endpoint settings (AWS_ENDPOINT_URL) reach the local cloud

    return boto3.client("s3")


def read_text(location: str, *, s3: Any = None) -> str:
    """One object's text: an `s3://` URI or a local path."""
    if location.startswith("s3://"):
        bucket, key = _split_s3(location)
        return str(_s3_client(s3).get_object(Bucket=bucket, Key=key)["Body"].read().decode())
    return Path(location).read_text(encoding="utf-8")


def read_json_object(location: str, *, s3: Any = None) -> Any:
    """A JSON object (a task object, a prediction's JSON) read strictly."""
    return read_json(read_text(location, s3=s3), what="object")


def manifest_objects(location: str, *, s3: Any = None) -> list[str]:
    """The manifest objects at `location`, sorted (a file, or everything under a folder / prefix)."""
    if location.startswith("s3://"):
        bucket, prefix = _split_s3(location)
        client = _s3_client(s3)
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []) if item["Key"].endswith(MANIFEST_SUFFIXES))
        return [f"s3://{bucket}/{key}" for key in sorted(keys)]
    path = Path(location)
    if path.is_file():
        return [str(path)]
    if not path.is_dir():
        raise FileNotFoundError(f"no manifest at {location}")
    return sorted(str(item) for item in path.rglob("*") if item.is_file() and item.name.endswith(MANIFEST_SUFFIXES))


def source_of(line: dict[str, Any]) -> tuple[str, str]:
    for key in SOURCE_KEYS:
        value = line.get(key)
        if isinstance(value, str) and value:
            return key, value
    raise ManifestReadError("line has neither source-ref nor source")


def parse_lines(text: str, name: str) -> list[dict[str, Any]]:
    lines = []
    for number, raw in enumerate(split_lines(text), start=1):
        if not raw.strip():
            continue
        try:
            line = read_json(raw, what=f"{name}:{number}")
        except ValueError as error:
            raise ManifestReadError(str(error)) from None
        if not isinstance(line, dict):
            raise ManifestReadError(f"{name}:{number}: a manifest line must be a JSON object")
        try:
            source_of(line)
        except ManifestReadError as error:
            raise ManifestReadError(f"{name}:{number}: {error}") from None
        lines.append(line)
    return lines


def read_manifest_lines(location: str, *, s3: Any = None) -> list[dict[str, Any]]:
    """Every line at `location`, one per source (a later one replaces an earlier one), in order."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for name in manifest_objects(location, s3=s3):
        for line in parse_lines(read_text(name, s3=s3), name):
            key = source_of(line)
            merged[key] = {**merged.get(key, {}), **line}
    return list(merged.values())


def labels(lines: Iterable[dict[str, Any]], attribute: str) -> list[Label]:
    """The labels of `attribute` (lines without it are other datasets' and are skipped)."""
    found = []
    for line in lines:
        metadata = line.get(f"{attribute}-metadata")
        if attribute not in line or not isinstance(metadata, dict):
            continue
        human = metadata.get("human-annotated") == "yes"
        origin = str(metadata.get("source") or ("human" if human else "unknown"))
        class_name = metadata.get("class-name")
        found.append(Label(source_ref=line.get("source-ref"), source=line.get("source"),
                           class_name=str(class_name) if class_name is not None else None, origin=origin, line=line))
    return found


def summary(found: Iterable[Label]) -> dict[str, int]:
    """Count of labels by origin, e.g. `{"ground-truth": 12, "human": 1}`."""
    counts: dict[str, int] = {}
    for label in found:
        counts[label.origin] = counts.get(label.origin, 0) + 1
    return dict(sorted(counts.items()))


def dumps(lines: Iterable[dict[str, Any]]) -> str:
    """JSON Lines text of `lines` (for writing a merged training manifest)."""
    return "".join(json.dumps(line, separators=(",", ":"), ensure_ascii=False) + "\n" for line in lines)
