"""The augmented-manifest merge: replace, append, no duplicates, stable order."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from human_review.logic.manifest_merge import merge_manifests, parse_manifest, render_manifest, source_key
from human_review.logic.manifests import ManifestError
from pitwall_shared.jsonlines import split_lines

BASE = [
    {"source-ref": "s3://f/1.jpg", "pit_BB": {"annotations": [{"class_id": 0}]}, "pit_BB-metadata": {"job-name": "gt/a"},
     "weather": 1},
    {"source-ref": "s3://f/2.jpg", "pit_BB": {"annotations": []}, "pit_BB-metadata": {"job-name": "gt/a"}},
    {"source": "a text line", "sentiment": 0},
]


def test_present_source_ref_has_its_annotations_replaced_in_place():
    part = {"source-ref": "s3://f/2.jpg", "pit_BB": {"annotations": [{"class_id": 1}]},
            "pit_BB-metadata": {"job-name": "a2i/pw-2"}}
    merged = merge_manifests(BASE, [part])
    assert [source_key(line)[1] for line in merged] == ["s3://f/1.jpg", "s3://f/2.jpg", "a text line"]
    assert merged[1] == part
    assert merged[0] == BASE[0]  # untouched


def test_replacement_keeps_other_label_attributes():
    part = {"source-ref": "s3://f/1.jpg", "pit_BB": {"annotations": []}, "pit_BB-metadata": {"job-name": "a2i/pw-1"}}
    merged = merge_manifests(BASE, [part])
    assert merged[0]["weather"] == 1 and merged[0]["pit_BB"] == {"annotations": []}
    assert list(merged[0]) == ["source-ref", "pit_BB", "pit_BB-metadata", "weather"]


def test_new_source_refs_are_appended_in_part_order():
    parts = [{"source-ref": "s3://f/9.jpg", "x": 1}, {"source-ref": "s3://f/3.jpg", "x": 2}]
    merged = merge_manifests(BASE, parts)
    assert [source_key(line)[1] for line in merged][-2:] == ["s3://f/9.jpg", "s3://f/3.jpg"]
    assert len(merged) == 5


def test_nothing_is_duplicated_even_when_parts_and_base_repeat():
    parts = [{"source-ref": "s3://f/7.jpg", "x": 1}, {"source-ref": "s3://f/7.jpg", "x": 2},
             {"source-ref": "s3://f/1.jpg", "weather": 2}]
    merged = merge_manifests([*BASE, BASE[0]], parts)
    keys = [source_key(line) for line in merged]
    assert len(keys) == len(set(keys)) == 4
    assert merged[3] == {"source-ref": "s3://f/7.jpg", "x": 2}  # the later part wins
    assert merged[0]["weather"] == 2


def test_merging_again_changes_nothing():
    parts = [{"source-ref": "s3://f/2.jpg", "pit_BB": {}}, {"source-ref": "s3://f/8.jpg", "x": 1}]
    once = merge_manifests(BASE, parts)
    assert merge_manifests(once, parts) == once


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), max_size=12),
       st.lists(st.sampled_from(["c", "d", "e", "f", "g"]), max_size=12))
def test_order_is_first_appearance(base_keys, part_keys):
    base = [{"source-ref": f"s3://f/{key}", "n": index} for index, key in enumerate(base_keys)]
    parts = [{"source-ref": f"s3://f/{key}", "p": index} for index, key in enumerate(part_keys)]
    merged = merge_manifests(base, parts)
    assert [line["source-ref"][-1] for line in merged] == list(dict.fromkeys(base_keys + part_keys))


def test_parse_and_render_round_trip():
    text = render_manifest(BASE)
    assert text.endswith("\n") and text.count("\n") == 3
    assert parse_manifest(text + "\n\n") == BASE
    assert json.loads(split_lines(text)[2]) == BASE[2]


# The example `make test` once drew at random (issue 16): a value holding a character that
# str.splitlines() takes for a line break. render_manifest writes U+2028 and U+0085 raw
# (ensure_ascii=False) and \x1c escaped; reading back must split at "\n" only.
@pytest.mark.parametrize("odd", ["\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e", "\x0b", "\x0c", "\r"])
def test_values_holding_unicode_line_separators_read_back(odd):
    lines = [{"source": f"before{odd}after"}, {"source-ref": f"s3://b/{odd}.jpg", "label": odd}]
    text = render_manifest(lines)
    assert text.count("\n") == 2
    assert parse_manifest(text) == lines
    base = parse_manifest(json.dumps({"source": odd}) + "\n", name="base")
    merged = merge_manifests(base, [])
    assert parse_manifest(render_manifest(merged)) == merged == [{"source": odd}]


def test_parse_names_the_bad_line():
    with pytest.raises(ManifestError, match=r"train.manifest:2: not valid JSON"):
        parse_manifest('{"source-ref": "s3://a/b"}\n{oops\n', name="train.manifest")
    with pytest.raises(ManifestError, match=r"m:1: line has neither source-ref nor source"):
        parse_manifest('{"x": 1}\n', name="m")
