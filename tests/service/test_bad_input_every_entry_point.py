"""Bad input at every JSON entry point, answered the same way (issue 16, item 1): the shared refusal
of `pitwall_shared.refusals`.

- HTTP (the six POST routes and the three GET routes with a path parameter, race_predictor and
  cost_calculator, through Chalice's test client): 400 (415 for a content type that is not JSON)
  with `error`, `problems` and `errors` naming each field, never a 5xx, never the value sent.
- Batches (NHL tracking on Kinesis, the cost usage consumer and both human-review consumers on
  SQS, each record an EventBridge event): the bad record is the only one in `batchItemFailures`,
  its neighbours are done, it is logged `record refused` with its `reason_kind`, and its values
  are in no log line. A batch of nothing but bad records is answered record by record, never
  failed whole.

The hazards are the same for every door (HAZARDS): deep nesting (100,000 levels and just past the
limit), a duplicate key, integers past Python's digit limit, numbers past float range, NaN, a lone
surrogate, bytes that are not UTF-8, UTF-16, truncated JSON, a JSON value that is not an object,
an empty body. Each is built from the door's own valid input with a planted secret in it.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace
from typing import Any

import pytest
from chalice.test import Client

os.environ.setdefault("USAGE_TABLE_NAME", "pitwall-cost-usage-test")
os.environ.setdefault("EVENT_BUS_NAME", "pitwall-test")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("RACE_STATE_TABLE_NAME", "race-state-test")
os.environ.setdefault("PLAYER_STATS_TABLE_NAME", "player-stats-test")

from cost_calculator.api import app as cost_app  # noqa: E402
from race_predictor import factory  # noqa: E402
from race_predictor.api import app as race_app  # noqa: E402
from race_predictor.handlers import process_tracking_event  # noqa: E402
from race_predictor.logic.nhl.stats import InMemoryPlayerStats  # noqa: E402
from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore  # noqa: E402
from tests.service import human_review_env  # noqa: E402
from tests.service.human_review_env import LambdaContext, bridge_event, faceoff, sqs_event  # noqa: E402
from tests.service.test_cost_calculator_consumer import consume, failures, traffic, usage_cloud  # noqa: E402
from tests.unit.race_predictor_nhl.test_service_batches import (  # noqa: E402
    RecordingPublisher,
    kinesis_event,
    make_service,
)

SECRET = "Jane Doe 548-95-6370"  # planted in every hazard; no answer or log line may repeat it
review_env = human_review_env.review_env


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _with(valid: dict[str, Any], key: str, raw_value: str) -> str:
    """`valid` as JSON text with `key`'s value written as the raw text `raw_value`."""
    rest = {k: v for k, v in valid.items() if k != key}
    written = _text(rest)
    return written[:-1] + ("," if rest else "") + f"{json.dumps(key)}:{raw_value}" + "}"


# name -> (valid document with the secret planted, key to break) -> body bytes; expected reason kind
HAZARDS: dict[str, tuple[Any, str]] = {
    "nested_100000_deep": (lambda v, k: _with(v, k, "[" * 100_000 + "]" * 100_000).encode(), "too_deep"),
    "nested_just_past_the_limit": (lambda v, k: _with(v, k, "[" * 33 + "]" * 33).encode(), "too_deep"),
    "duplicate_key": (lambda v, k: _with(v, k, _text(v[k]) + f",{json.dumps(k)}:{_text(v[k])}").encode(),
                      "duplicate_key"),
    "integer_past_4300_digits": (lambda v, k: _with(v, k, "9" * 5_000).encode(), "number_out_of_range"),
    "number_past_float_range": (lambda v, k: _with(v, k, "1e400").encode(), None),  # Decimal bodies: too large
    "nan": (lambda v, k: _with(v, k, "NaN").encode(), "not_a_number"),
    "lone_surrogate": (lambda v, k: _with(v, k, '"\\ud800"').encode(), "lone_surrogate"),
    "not_utf8": (lambda v, k: _with(v, k, '"\xff"').encode("latin-1"), "not_utf8"),
    "utf16": (lambda v, k: _text(v).encode("utf-16"), "not_utf8"),
    "truncated": (lambda v, k: _text(v).encode()[:-2], "not_json"),
    "not_an_object": (lambda v, k: _text([v]).encode(), None),
    "empty": (lambda v, k: b"", None),
}


def _no_secret(text: str | bytes) -> None:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    for part in SECRET.split():
        assert part not in text


def _logged(caplog, capsys) -> str:
    """Everything logged: Powertools' JSON lines (stdout) and the records pytest saw."""
    return caplog.text + " ".join(str(vars(record)) for record in caplog.records) + "".join(capsys.readouterr())


def _refused(caplog) -> list[dict[str, Any]]:
    """The `record refused` log records, as their extra fields."""
    return [vars(record) for record in caplog.records if record.getMessage() == "record refused"]


def _assert_refusal(response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert body["error"] == "invalid_request" and body["message"] == "invalid request"
    assert body["problems"] and all(": " in line and line.split(": ", 1)[0] for line in body["problems"])
    assert body["errors"] and all(e["field"] and e["reason"] and e["kind"] for e in body["errors"])
    assert [f"{e['field']}: {e['reason']}" for e in body["errors"]] == body["problems"]
    _no_secret(response.body)
    return body


# --- HTTP ----------------------------------------------------------------------------------------------
PREDICT = {"home_player_id": 1, "away_player_id": 2, "zone": "N", "period": 1, "seconds_elapsed": 10.0,
           "home_skaters": 5, "away_skaters": 5, "game_id": "g1"}
ROUTES: dict[str, tuple[Any, str, dict[str, Any], str]] = {
    # route -> (app, path, valid body, key to break)
    "cost /estimates/endpoint": (cost_app, "/estimates/endpoint",
                                 {"characters_per_second": 60, "hours_per_day": 12}, "characters_per_second"),
    "cost /estimates/pii": (cost_app, "/estimates/pii", {"records": 10, "characters_per_field": 500,
                                                          "fields_per_record": 1, "records_with_pii": 1}, "records"),
    "cost /estimates/traffic": (cost_app, "/estimates/traffic", {"characters_per_second": [40] * 24},
                                "characters_per_second"),
    "race /races/{id}/messages": (race_app, "/races/r-1/messages", {"messages": [
        {"seq": 1, "type": "race_start", "season": 2023, "round": 1, "circuit": "bahrain", "total_laps": 57,
         "drivers": [{"driver": "VER", "team": "red_bull"}, {"driver": "PER", "team": "red_bull"}]}]}, "messages"),
    "race /faceoffs/predict": (race_app, "/faceoffs/predict", PREDICT, "zone"),
    "race /faceoffs/results": (race_app, "/faceoffs/results", PREDICT | {"winner_id": 1}, "zone"),
}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def http(monkeypatch):
    """Both APIs with their services stubbed: the doors are under test, not the use cases."""
    answer = SimpleNamespace(accepted=1, duplicates=[], predictions=[])
    monkeypatch.setattr(factory, "f1_service", lambda: SimpleNamespace(post_messages=lambda *a, **k: answer))
    monkeypatch.setattr(factory, "nhl_service", lambda: SimpleNamespace(predict=lambda request: {"ok": True},
                                                                        record_result=lambda request: {"ok": True}))
    with Client(cost_app) as cost, Client(race_app) as race:
        yield {cost_app: cost, race_app: race}


def _planted(valid: dict[str, Any], key: str) -> dict[str, Any]:
    """The valid body with the secret as the value of another field (unknown fields are refused too,
    by name: a body refused for its JSON must not echo it either)."""
    return {**valid, "note": SECRET} if key != "note" else valid


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_answers_its_valid_body(http, route):
    app, path, valid, _ = ROUTES[route]
    response = http[app].http.post(path, headers=JSON, body=json.dumps(valid))
    assert response.status_code == 200, response.body


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_refuses_every_hazard_with_a_400_naming_it(http, route, hazard):
    app, path, valid, key = ROUTES[route]
    build, kind = HAZARDS[hazard]
    response = http[app].http.post(path, headers=JSON, body=build(_planted(valid, key), key))
    body = _assert_refusal(response)
    if kind is not None:
        assert body["errors"][0]["kind"] == kind and body["errors"][0]["field"] == "body", body


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                                          "application/json; charset=latin-1", "application/xml"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_body_that_is_not_json_by_its_content_type_is_a_415_of_the_same_shape(http, route, content_type):
    app, path, valid, _ = ROUTES[route]
    response = http[app].http.post(path, headers={"Content-Type": content_type}, body=json.dumps(valid))
    body = _assert_refusal(response, 415)
    assert body["errors"][0]["field"] == "Content-Type" and "latin" not in response.body.decode()


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                          "application/vnd.pitwall+json"])
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_json_content_types_with_parameters_are_read(http, route, content_type):
    app, path, valid, _ = ROUTES[route]
    assert http[app].http.post(path, headers={"Content-Type": content_type}, body=json.dumps(valid)).status_code == 200


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_odd_unicode_in_a_value_is_answered_never_a_5xx(http, route):
    app, path, valid, key = ROUTES[route]
    body = _text({**valid, key: "a\u2028b\u2029c\x85d\ufeff\u202e"})  # written raw, as non-ASCII writers do
    response = http[app].http.post(path, headers=JSON, body=body.encode())
    _assert_refusal(response)  # a string where the route wants a number, list or zone: named, not a 500


@pytest.mark.parametrize(("app", "path", "field"), [
    (race_app, "/races/r\u2028x", "race_id"), (race_app, "/races/" + "x" * 65 + "/battles", "race_id"),
    (race_app, "/games/g%20x/faceoff", "game_id"), (cost_app, "/endpoints/bad_name/recommendation", "name"),
    (cost_app, "/endpoints/ok-name/recommendation?window_minutes=" + "9" * 5000, "window_minutes"),
])
def test_bad_path_and_query_parameters_are_400s_of_the_same_shape(http, app, path, field):
    body = _assert_refusal(http[app].http.get(path))
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_refusal_is_logged_by_reason_kind(http, caplog, capsys, route):
    app, path, valid, key = ROUTES[route]
    http[app].http.post(path, headers=JSON, body=HAZARDS["duplicate_key"][0](_planted(valid, key), key))
    [line] = [vars(record) for record in caplog.records if record.getMessage() == "request refused"]
    assert line["reason_kind"] == "duplicate_key" and line["status"] == 400
    _no_secret(_logged(caplog, capsys))


# --- Kinesis: NHL tracking ------------------------------------------------------------------------------
LINEUP = {"type": "lineup", "game_id": "g1", "season": 20232024, "home_team": "TOR", "away_team": "MTL",
          "players": [{"player_id": 1, "side": "home", "position": "C", "shoots": "L"},
                      {"player_id": 2, "side": "away", "position": "C", "shoots": "R"}]}
POSITION = {"type": "position", "game_id": "g1", "ts_ms": 1000, "player_id": 1, "x_ft": 20.0, "y_ft": -22.0}


class Captured:
    """A logger that keeps what it was given."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def warning(self, message: str, extra: dict[str, Any] | None = None) -> None:
        self.lines.append((message, extra or {}))


def _tracking(records: list[dict | bytes]) -> tuple[dict[str, Any], Captured]:
    service = make_service(InMemoryStateStore(), InMemoryLedger(), RecordingPublisher(), InMemoryPlayerStats())
    logger = Captured()
    response, _ = process_tracking_event(kinesis_event(records, 1), service, logger)
    return response, logger


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_kinesis_a_hazard_record_fails_alone_logged_by_kind(hazard):
    build, kind = HAZARDS[hazard]
    bad = build({**POSITION, "note": SECRET}, "x_ft")
    response, logger = _tracking([LINEUP, bad, POSITION])
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    [(message, extra)] = logger.lines
    assert message == "record refused" and extra["sequence_number"] == "2"
    assert extra["reason_kind"] == (kind or extra["reason_kind"]) and extra["problems"]
    _no_secret(json.dumps(extra))


def test_kinesis_data_that_is_not_base64_fails_alone():
    event = kinesis_event([LINEUP, POSITION], 1)
    event["Records"][1]["kinesis"]["data"] = "%%% not base64 %%%"
    service = make_service(InMemoryStateStore(), InMemoryLedger(), RecordingPublisher(), InMemoryPlayerStats())
    logger = Captured()
    response, _ = process_tracking_event(event, service, logger)
    assert response == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert logger.lines[0][1]["reason_kind"] == "not_base64"


def test_kinesis_a_batch_of_nothing_but_hazards_is_answered_record_by_record():
    bad = [build({**POSITION, "note": SECRET}, "x_ft") for build, _ in HAZARDS.values()]
    response, logger = _tracking(bad)
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [str(n) for n in
                                                                                  range(1, len(bad) + 1)]
    assert len(logger.lines) == len(bad)


# --- SQS: cost usage consumer ---------------------------------------------------------------------------
def _sqs_hazard(valid_body: dict[str, Any], hazard: str) -> str:
    """A hazard as an SQS body (a string: bytes that are not UTF-8 cannot be one, so those arrive as
    the replacement characters Lambda would decode them to)."""
    build, _ = HAZARDS[hazard]
    valid = {**valid_body, "note": SECRET}
    return build(valid, "detail").decode("utf-8", "replace")


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
def test_usage_consumer_a_hazard_message_fails_alone_logged_by_kind(monkeypatch, caplog, capsys, hazard):
    with usage_cloud(monkeypatch):
        good, bad = traffic("good-1", 100), traffic("bad-1", 100)
        bad["body"] = _sqs_hazard(json.loads(bad["body"]), hazard)
        assert failures(consume(good, bad)) == ["msg-bad-1"]
    refused = _refused(caplog)
    assert [line["message_id"] for line in refused] == ["msg-bad-1"] and refused[0]["reason_kind"]
    assert any(record.getMessage() == "usage event handled" for record in caplog.records)  # the neighbour
    _no_secret(_logged(caplog, capsys))


def test_usage_consumer_a_batch_of_nothing_but_hazards_is_answered_record_by_record(monkeypatch):
    with usage_cloud(monkeypatch):
        records = []
        for number, hazard in enumerate(sorted(HAZARDS)):
            record = traffic(f"bad-{number}", 100)
            record["body"] = _sqs_hazard(json.loads(record["body"]), hazard)
            records.append(record)
        assert failures(consume(*records)) == sorted(record["messageId"] for record in records)


# --- SQS: human review (trigger and completion) ---------------------------------------------------------
STATUS_CHANGE = {"version": "0", "id": "eb-2", "detail-type": "SageMaker A2I HumanLoop Status Change",
                 "source": "aws.sagemaker", "account": "123456789012", "time": "2026-11-22T10:15:30Z",
                 "region": "us-east-1", "resources": [],
                 "detail": {"humanLoopName": "pw-someone-else", "humanLoopArn": "arn:aws:sagemaker:us-east-1:1:"
                            "human-loop/pw-someone-else", "humanLoopStatus": "Stopped",
                            "creationTime": "2026-11-22T10:15:30.000Z",
                            "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:1:flow-definition/x"}}


@pytest.mark.parametrize("hazard", sorted(HAZARDS))
@pytest.mark.parametrize("consumer", ["trigger_handler", "completion_handler"])
def test_review_consumers_a_hazard_message_fails_alone_logged_by_kind(review_env, caplog, capsys, consumer,
                                                                       hazard):
    from human_review import handlers

    good = bridge_event("FaceoffPredicted", faceoff(0.9, 0.9)) if consumer == "trigger_handler" else STATUS_CHANGE
    bad = _sqs_hazard(good, hazard)
    response = getattr(handlers, consumer)(sqs_event(good, bad, message_ids=["good", "bad"]), LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    refused = _refused(caplog)
    assert [line["message_id"] for line in refused] == ["bad"] and refused[0]["reason_kind"]
    _no_secret(_logged(caplog, capsys))


@pytest.mark.parametrize(("detail_type", "data", "field"), [
    ("FaceoffPredicted", faceoff(0.5, confidence=SECRET), "data.confidence"),  # type: ignore[arg-type]
    ("FaceoffPredicted", faceoff(0.5, confidence=1.5), "data.confidence"),
    ("ReviewCandidate", {"review_policy": SECRET}, "detail-type"),
    ("PitBattlePredicted", {"model_version": SECRET}, "detail-type"),
])
def test_trigger_an_event_that_fits_no_policy_fails_alone_without_its_values(review_env, caplog, capsys,
                                                                            detail_type, data, field):
    from human_review import handlers

    source = "acme.vision" if detail_type == "ReviewCandidate" else "pitwall.race_predictor"
    if detail_type == "PitBattlePredicted":
        source = "someone.else"
    bad = bridge_event(detail_type, data, source=source)
    response = handlers.trigger_handler(sqs_event(bad, message_ids=["bad"]), LambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    [refused] = _refused(caplog)
    assert any(problem.startswith(field) for problem in refused["problems"]), refused
    _no_secret(_logged(caplog, capsys))
    assert "1.5" not in json.dumps(refused["problems"])

