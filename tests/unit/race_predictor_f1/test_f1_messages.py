"""Timing-message validation: every field, errors naming the field (never its value), and the JSON
Schema in events/schemas agreeing with the pydantic contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from race_predictor.models.f1 import MessageBatch, MessageValidationError, parse_batch, validate_race_id
from tests.unit.race_predictor_f1.f1_builders import undercut_race

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "events" / "schemas" / "TimingMessages.v1.json"

VALID = {
    "race_start": {"seq": 1, "type": "race_start", "season": 2023, "round": 1, "circuit": "bahrain",
                   "total_laps": 57, "drivers": [{"driver": "VER", "team": "Red Bull"}]},
    "lap_completed": {"seq": 2, "type": "lap_completed", "driver": "VER", "lap": 1, "position": 1,
                      "lap_time_ms": 99019, "race_time_ms": 99019, "compound": "SOFT", "tyre_age_laps": 4},
    "pit_in": {"seq": 3, "type": "pit_in", "driver": "VER", "lap": 14},
    "pit_out": {"seq": 4, "type": "pit_out", "driver": "VER", "lap": 14, "compound": "HARD", "pit_duration_ms": 24289},
    "track_status": {"seq": 5, "type": "track_status", "lap": 3, "status": "safety_car"},
    "race_end": {"seq": 6, "type": "race_end"},
}

# (message type, field, bad value): one per constraint of every field
BAD_FIELDS = [
    ("race_start", "seq", -1), ("race_start", "seq", "7"), ("race_start", "season", 1900),
    ("race_start", "round", 0), ("race_start", "circuit", "Bahrain GP"), ("race_start", "total_laps", 0),
    ("race_start", "drivers", []), ("race_start", "drivers", [{"driver": "VER"}]),
    ("race_start", "drivers", [{"driver": "VER", "team": "a"}, {"driver": "VER", "team": "b"}]),
    ("lap_completed", "driver", "vxq"), ("lap_completed", "driver", "VERS"), ("lap_completed", "lap", 0),
    ("lap_completed", "position", 0), ("lap_completed", "lap_time_ms", 0), ("lap_completed", "lap_time_ms", 1.5),
    ("lap_completed", "race_time_ms", -5), ("lap_completed", "compound", "SUPERSOFT"),
    ("lap_completed", "tyre_age_laps", -1), ("lap_completed", "lap", True),
    ("pit_in", "driver", None), ("pit_in", "lap", 0),
    ("pit_out", "lap", "14"), ("pit_out", "compound", "soft"), ("pit_out", "pit_duration_ms", 0),
    ("track_status", "lap", -1), ("track_status", "status", "chequered"),
]
REQUIRED = [("race_start", f) for f in ("season", "round", "circuit", "total_laps", "drivers", "seq")] + [
    ("lap_completed", f) for f in ("driver", "lap", "position", "lap_time_ms", "race_time_ms")] + [
    ("pit_in", "driver"), ("pit_in", "lap"), ("pit_out", "driver"), ("pit_out", "lap"),
    ("track_status", "lap"), ("track_status", "status")]


def test_every_message_type_parses():
    batch = parse_batch({"messages": list(VALID.values())})
    assert [m.type for m in batch.messages] == list(VALID)


@pytest.mark.parametrize(("kind", "field", "value"), BAD_FIELDS)
def test_bad_field_is_named_and_its_value_not_echoed(kind, field, value):
    message = {**copy.deepcopy(VALID[kind]), field: value}
    with pytest.raises(MessageValidationError) as caught:
        parse_batch({"messages": [VALID["race_end"], message]})
    assert any(problem.startswith(f"messages[1].{field}") for problem in caught.value.problems), caught.value.problems
    if isinstance(value, str) and len(value) > 2:
        assert value not in str(caught.value)


@pytest.mark.parametrize(("kind", "field"), REQUIRED)
def test_missing_required_field_is_named(kind, field):
    message = {k: v for k, v in VALID[kind].items() if k != field}
    with pytest.raises(MessageValidationError) as caught:
        parse_batch({"messages": [message]})
    assert f"messages[0].{field}: Field required" in caught.value.problems


def test_unknown_type_extra_field_and_body_shape():
    with pytest.raises(MessageValidationError) as caught:
        parse_batch({"messages": [{"seq": 1, "type": "secret-payload"}]})
    assert caught.value.problems[0].startswith("messages[0].type: must be one of race_start")
    assert "secret-payload" not in str(caught.value)
    with pytest.raises(MessageValidationError) as caught:
        parse_batch({"messages": [{**VALID["pit_in"], "note": 1}]})
    assert caught.value.problems == ["messages[0].note: Extra inputs are not permitted"]
    for body, field in (([], "body"), ({}, "messages"), ({"messages": []}, "messages"),
                        ({"messages": [VALID["race_end"]] * 501}, "messages")):
        with pytest.raises(MessageValidationError) as caught:
            parse_batch(body)
        assert caught.value.problems[0].startswith(f"{field}:")


def test_race_id_is_checked():
    assert validate_race_id("2023-bahrain_1") == "2023-bahrain_1"
    with pytest.raises(MessageValidationError, match="race_id"):
        validate_race_id("a/b")


def test_json_schema_file_is_the_pydantic_contract_and_accepts_a_real_race():
    schema = json.loads(SCHEMA_PATH.read_text())
    generated = MessageBatch.model_json_schema()
    assert schema["$defs"] == generated["$defs"] and schema["properties"] == generated["properties"]
    validator = Draft202012Validator(schema)
    assert not list(validator.iter_errors(undercut_race().batch()))
    assert not list(validator.iter_errors({"messages": list(VALID.values())}))
    assert list(validator.iter_errors({"messages": [{**VALID["pit_in"], "lap": 0}]}))
