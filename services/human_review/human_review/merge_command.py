"""`python -m human_review.merge_command`: build `augmented.manifest` from a manifest and the parts.

Locations are `s3://bucket/key` or local paths. Parts are applied oldest answer first (their
`creation-date`), so when two loops labelled the same object the newer answer wins.

    python -m human_review.merge_command --base s3://b/manifests/train.manifest \
        --parts s3://b/manifests/parts/pit-objects/ --out s3://b/manifests/augmented.manifest
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from human_review.adapters.storage import Storage
from human_review.logic.manifest_merge import merge_manifests, parse_manifest, render_manifest
from human_review.logic.manifests import ManifestError


def _read(location: str, storage: Storage) -> str:
    return storage.get_text(location) if location.startswith("s3://") else Path(location).read_text()


def _list_parts(location: str, storage: Storage) -> list[str]:
    if location.startswith("s3://"):
        return [uri for uri in storage.list_uris(location) if uri.endswith((".jsonl", ".manifest", ".json"))]
    folder = Path(location)
    return sorted(str(path) for path in folder.rglob("*") if path.suffix in {".jsonl", ".manifest", ".json"})


def _answered_at(line: dict[str, Any]) -> str:
    dates = [value.get("creation-date", "") for key, value in line.items()
             if key.endswith("-metadata") and isinstance(value, dict)]
    return max(dates, default="")


def merge_locations(base: str | None, parts: str, out: str, storage: Storage | None = None) -> dict[str, int]:
    """Merge and write; return counts (`base_lines`, `part_lines`, `merged_lines`)."""
    storage = storage or Storage()
    base_lines = parse_manifest(_read(base, storage), name=base) if base else []
    part_lines: list[tuple[str, str, dict[str, Any]]] = []
    for location in _list_parts(parts, storage):
        for line in parse_manifest(_read(location, storage), name=location):
            part_lines.append((_answered_at(line), location, line))
    part_lines.sort(key=lambda item: (item[0], item[1]))
    merged = merge_manifests(base_lines, [line for _, _, line in part_lines])
    text = render_manifest(merged)
    if out.startswith("s3://"):
        storage.put_text(out, text, content_type="application/x-ndjson")
    else:
        Path(out).write_text(text)
    return {"base_lines": len(base_lines), "part_lines": len(part_lines), "merged_lines": len(merged)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m human_review.merge_command", description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="existing training manifest (omit to start empty)")
    parser.add_argument("--parts", required=True, help="folder or s3:// prefix of the loop parts")
    parser.add_argument("--out", required=True, help="where augmented.manifest is written")
    options = parser.parse_args(argv)
    try:
        counts = merge_locations(options.base, options.parts, options.out)
    except (ManifestError, FileNotFoundError, ValueError) as error:
        print(f"merge failed: {error}", file=sys.stderr)
        return 1
    print(f"{counts['merged_lines']} lines written to {options.out} "
          f"({counts['base_lines']} from the base, {counts['part_lines']} parts applied)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
