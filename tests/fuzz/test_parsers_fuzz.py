"""Property-based fuzzing of every parser at the system's doors (issue 8, bad input 1): Firehose
records (and Firehose's own check of the answer), timing messages, tracking records, SQS bodies of
both SQS consumers, A2I `output.json`, augmented manifests.

Inputs are drawn from random JSON, random bytes, and valid examples with one part mutated. For every
door the property is the same: the input is accepted, or refused with the door's own error type and
a message naming the place of the problem; nothing else is raised, and a secret planted in the input
never appears in the message (errors must not echo record contents).
"""

from __future__ import annotations

import base64
import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

os.environ.setdefault("USAGE_TABLE_NAME", "pitwall-cost-usage-test")
os.environ.setdefault("EVENT_BUS_NAME", "pitwall-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cost_calculator import handlers as cost_handlers  # noqa: E402
from human_review import handlers as review_handlers  # noqa: E402
from human_review.logic.manifest_merge import merge_manifests, parse_manifest, render_manifest, source_key  # noqa: E402
from human_review.logic.manifests import ManifestContext, ManifestError, manifest_line  # noqa: E402
from human_review.models import A2IOutput, HumanLoopStatusChange, TaskType  # noqa: E402
from local.emulators.firehose import check_response  # noqa: E402
from pii_redaction.logic.batch import ScreeningOptions  # noqa: E402
from pii_redaction.logic.fields import parse_field_paths  # noqa: E402
from pii_redaction.logic.screening import screen  # noqa: E402
from pii_redaction.models import InputRecord  # noqa: E402
from race_predictor.models.f1 import MessageValidationError, parse_batch  # noqa: E402
from race_predictor.models.nhl import MalformedRecord, parse_record  # noqa: E402
from tests.fuzz.strategies import json_bodies, json_texts, odd_text, with_duplicate_key  # noqa: E402
from tests.hypothesis_profiles import examples  # noqa: E402
from tests.unit.pii.helpers import InProcessComprehend  # noqa: E402

SECRET = "SECRET-548-95-6370"  # a planted value (SSN-shaped) that no error may repeat
FUZZ = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=20) \
    | st.just(SECRET)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12) | st.just("type"), inner, max_size=5), max_leaves=20)


@st.composite
def mutated(draw: st.DrawFn, valid: Any) -> Any:
    """`valid` with one value somewhere replaced by random JSON (or the planted secret), or removed."""
    document = copy.deepcopy(valid)
    node = document
    while True:
        keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            return document
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        action = draw(st.sampled_from(["replace", "secret", "delete"]))
        if action == "delete" and isinstance(node, dict):
            del node[key]
        else:
            node[key] = SECRET if action == "secret" else draw(json_values)
        return document


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


# --- timing messages (POST /races/{race_id}/messages) ----------------------------------------------
VALID_BATCH = {"messages": [
    {"seq": 1, "type": "race_start", "season": 2023, "round": 1, "circuit": "bahrain", "total_laps": 57,
     "drivers": [{"driver": "VER", "team": "red_bull"}, {"driver": "PER", "team": "red_bull"}]},
    {"seq": 2, "type": "lap_completed", "driver": "VER", "lap": 1, "position": 1, "lap_time_ms": 97000,
     "race_time_ms": 97000, "compound": "SOFT", "tyre_age_laps": 1},
    {"seq": 3, "type": "pit_in", "driver": "PER", "lap": 12},
    {"seq": 4, "type": "pit_out", "driver": "PER", "lap": 12, "compound": "HARD", "pit_duration_ms": 22000},
    {"seq": 5, "type": "track_status", "lap": 13, "status": "safety_car"},
    {"seq": 6, "type": "race_end"},
]}


def _check_timing(body: Any) -> None:
    try:
        parse_batch(body)
    except MessageValidationError as error:
        assert error.problems
        for problem in error.problems:
            field, _, reason = problem.partition(": ")
            assert field and reason, problem
        assert SECRET not in str(error)


@FUZZ
@given(mutated(VALID_BATCH))
def test_timing_messages_mutated(body):
    _check_timing(body)


@FUZZ
@given(json_values)
def test_timing_messages_random_json(body):
    _check_timing(body)


# --- tracking records (Kinesis, NHL) --------------------------------------------------------------
VALID_TRACKING = [
    {"type": "lineup", "game_id": "g1", "season": 20232024, "home_team": "TOR", "away_team": "MTL",
     "players": [{"player_id": 1, "side": "home", "position": "C", "shoots": "L"},
                 {"player_id": 2, "side": "away", "position": "C", "shoots": "R", "height_in": 72}]},
    {"type": "position", "game_id": "g1", "ts_ms": 1000, "player_id": 1, "x_ft": 20.0, "y_ft": -22.0, "vx_fps": 1.5},
    {"type": "game", "game_id": "g1", "ts_ms": 2000, "event": "faceoff", "winner_id": 1, "loser_id": 2},
    {"type": "game", "game_id": "g1", "ts_ms": 3000, "event": "goal", "home_score": 1, "away_score": 0},
]


def _check_tracking(raw: bytes | str | dict) -> None:
    try:
        parse_record(raw)
    except MalformedRecord as error:
        assert str(error) and SECRET not in str(error)


@FUZZ
@given(st.sampled_from(VALID_TRACKING).flatmap(mutated))
def test_tracking_records_mutated(record):
    _check_tracking(_json_bytes(record))


@FUZZ
@given(st.binary(max_size=300) | json_values.map(_json_bytes) | json_bodies()
       | st.sampled_from(VALID_TRACKING).flatmap(with_duplicate_key).map(str.encode))
def test_tracking_records_random_bytes(raw):
    _check_tracking(raw)


# --- Firehose records (pii_redaction) and Firehose's check of the function's answer -------------------
OPTIONS = ScreeningOptions(paths=parse_field_paths("Tweet1, Tweet2, profile.notes[*]"))
VALID_FIREHOSE_RECORD = {"User": "12345", "Tweet1": "Call me at 818-828-6231", "Tweet2": "hello",
                         "profile": {"notes": ["mail SerdarvanBokhorst@dayrep.com", "fine"]}}


def _firehose_data() -> st.SearchStrategy[str]:
    documents = mutated(VALID_FIREHOSE_RECORD).map(lambda d: base64.b64encode(_json_bytes(d)).decode())
    raw = st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode())
    not_base64 = st.text(max_size=40)
    return documents | raw | not_base64


def _is_base64(data: str) -> bool:
    try:
        base64.b64decode(data, validate=True)
    except ValueError:
        return False
    return True


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_firehose_data(), min_size=1, max_size=6))
def test_firehose_batches_answer_every_record_once(datas):
    batch = [InputRecord(f"r{i}", data) for i, data in enumerate(datas)]
    outcome = screen(batch, OPTIONS, InProcessComprehend())
    assert [r.record_id for r in outcome.records] == [r.record_id for r in batch]
    # Firehose always sends base64; a record that is not (only a hand-made event) fails alone, and
    # its answer is still valid base64, so Firehose's own check passes on the whole answer.
    for source, record in zip(batch, outcome.records, strict=True):
        if not _is_base64(source.data):
            assert record.result == "ProcessingFailed"
    answer = {"records": [{"recordId": r.record_id, "result": r.result, "data": r.data} for r in outcome.records]}
    assert check_response(answer, [r.record_id for r in batch]) is None
    for record in outcome.records:
        assert SECRET not in (record.reason or "")
        if record.result == "Ok":
            text = base64.b64decode(record.data).decode()
            # The planted PII sits in inspected fields only: an Ok record never carries it raw.
            assert "818-828-6231" not in text and "SerdarvanBokhorst@dayrep.com" not in text


@FUZZ
@given(json_values, st.lists(st.text(max_size=5), max_size=4))
def test_firehose_emulator_checks_any_answer_without_crashing(answer, record_ids):
    problem = check_response(answer, record_ids)
    assert problem is None or (problem[0].startswith("Lambda.") and problem[1])


# --- SQS bodies of the two SQS consumers ---------------------------------------------------------------
VALID_USAGE_BODY = {"version": "0", "id": "eb-1", "detail-type": "ComprehendUsage", "source": "pitwall.pii_redaction",
                    "account": "123456789012", "time": "2026-11-22T10:15:30Z", "region": "us-east-1", "resources": [],
                    "detail": {"event_id": "usage-1", "correlation_id": "usage-1", "occurred_at": "2026-11-22T10:15:30.000Z",
                               "schema_version": "1", "data": {"usage": [{"api": "ContainsPiiEntities", "requests": 5,
                                                                          "characters": 1800, "billed_units": 20}]}}}
VALID_STATUS_BODY = {"version": "0", "id": "eb-2", "detail-type": "SageMaker A2I HumanLoop Status Change",
                     "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-22T10:15:30Z",
                     "region": "us-east-1", "resources": [],
                     "detail": {"humanLoopName": "pw-evt-1", "humanLoopArn": "arn:aws:sagemaker:us-east-1:1:human-loop/pw-evt-1",
                                "humanLoopStatus": "Completed", "creationTime": "2026-11-22T10:15:30.000Z",
                                "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:1:flow-definition/x",
                                "humanLoopOutput": {"outputS3Uri": "s3://bucket/a2i-output/x/output.json"}}}
sqs_bodies = st.one_of(mutated(VALID_USAGE_BODY).map(json.dumps), mutated(VALID_STATUS_BODY).map(json.dumps),
                       st.text(max_size=100), json_values.map(lambda v: json.dumps(v, allow_nan=True)), json_texts(),
                       with_duplicate_key(VALID_USAGE_BODY), with_duplicate_key(VALID_STATUS_BODY))


class _Record:
    def __init__(self, body: str) -> None:
        self.body, self.message_id = body, "m-1"


@FUZZ
@given(sqs_bodies)
def test_usage_consumer_bodies(body):
    try:
        cost_handlers._parse(body)
    except cost_handlers.MalformedUsageEvent as error:
        assert error.problems and all(problem.field for problem in error.problems)
        assert SECRET not in str(error)


@FUZZ
@given(sqs_bodies)
def test_review_consumer_bodies(body):
    try:
        event = review_handlers._event(_Record(body))  # type: ignore[arg-type]
        review_handlers._detail(HumanLoopStatusChange, event)
    except review_handlers.InvalidEvent as error:
        assert error.problems and all(problem.field for problem in error.problems)
        assert SECRET not in str(error)


# --- A2I output.json -> augmented-manifest line -------------------------------------------------------
VALID_OUTPUT = {"flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/pitwall-review",
                "humanLoopName": "pw-evt-1", "inputContent": {"taskType": "object-detection"},
                "humanAnswers": [{"submissionTime": "2026-11-22T10:15:30.250Z", "workerId": "w0",
                                  "answerContent": {"annotatedResult": {
                                      "boundingBoxes": [{"label": "car", "left": 10, "top": 20, "width": 30, "height": 40}],
                                      "inputImageProperties": {"width": 640, "height": 480}}}}]}
CONTEXTS = [
    ManifestContext(human_loop_name="pw-evt-1", dataset="pit-objects", task_type=TaskType.OBJECT_DETECTION,
                    source_ref="s3://frames/f.jpg", classes=("car", "tyre")),
    ManifestContext(human_loop_name="pw-evt-1", dataset="faceoff-winner", task_type=TaskType.CLASSIFICATION,
                    source_ref="s3://tasks/t.json", classes=("away-wins", "home-wins"), image=False),
]


@FUZZ
@given(mutated(VALID_OUTPUT) | json_values, st.sampled_from(CONTEXTS))
def test_a2i_outputs(document, context):
    try:
        output = A2IOutput.model_validate(document)
        line = manifest_line(context, output)
    except ValidationError:
        return  # the completion handler reports it (field and reason) and the message is retried / DLQ'd
    except ManifestError as error:
        assert str(error) and SECRET not in str(error)
        return
    assert source_key(line)[1] == context.source_ref
    json.dumps(line)


# --- augmented manifests (merge command) ---------------------------------------------------------------
manifest_lines = st.lists(st.one_of(
    st.builds(lambda ref, label: json.dumps({"source-ref": f"s3://b/{ref}.jpg", "label": label}),
              st.integers(0, 5), st.integers(0, 3)),
    st.builds(lambda text: json.dumps({"source": text}), st.text(min_size=1, max_size=8)),
    # Values holding the characters str.splitlines() breaks at, written raw as render_manifest does.
    st.builds(lambda text: json.dumps({"source": text}, ensure_ascii=False), odd_text.filter(str.strip)),
    st.text(max_size=30), json_values.map(json.dumps), json_texts(),
    with_duplicate_key({"source-ref": "s3://b/1.jpg", "label": 1})), max_size=8)


@FUZZ
@given(manifest_lines, manifest_lines)
# Drawn at random by `make test` before it was derandomised (issue 16): json.dumps escapes U+2028,
# render_manifest writes it raw, and str.splitlines() broke the line there.
@example(base_lines=[json.dumps({"source": "\u2028"})], part_lines=[])
@example(base_lines=[json.dumps({"source": "a\x85b"}), json.dumps({"source": "\x1c"})], part_lines=[])
def test_manifest_merge(base_lines, part_lines):
    try:
        base = parse_manifest("\n".join(base_lines), name="base")
        parts = parse_manifest("\n".join(part_lines), name="parts")
    except ManifestError as error:
        assert str(error).split(":")[0] in ("base", "parts") and SECRET not in str(error)
        return
    merged = merge_manifests(base, parts)
    keys = [source_key(line) for line in merged]
    assert len(keys) == len(set(keys))  # nothing duplicated
    assert set(keys) == {source_key(line) for line in base + parts}
    # Merging the same parts again changes nothing (a redriven completion writes its part twice).
    assert merge_manifests(merged, parts) == merged
    assert parse_manifest(render_manifest(merged)) == merged
