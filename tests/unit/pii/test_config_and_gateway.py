"""Settings parsing (clear errors naming the variable), field paths, and the Comprehend gateway's
pacing, retries and deadline (with a scripted client and a fake clock)."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from pii_redaction.adapters.comprehend import ComprehendGateway, RateLimiter
from pii_redaction.logic.fields import Segment, parse_field_paths, select
from pii_redaction.logic.ports import Call
from pii_redaction.settings import RedactionSettings
from pitwall_shared.settings import SettingsError, load_settings


def test_settings_parse_whitespace_tolerant_lists():
    s = load_settings(RedactionSettings, {"PII_FIELDS": " Tweet1 ,Tweet2, user.email , items[*].note ",
                                          "PII_ENTITY_TYPES": "email, PHONE", "PII_MASK_STYLE": "TYPE",
                                          "PII_NEWLINE": "false"})
    assert [tuple(seg.key for seg in p) for p in s.pii_fields] == [("Tweet1",), ("Tweet2",), ("user", "email"),
                                                                  ("items", "note")]
    assert s.pii_fields[3][0] == Segment("items", 1)
    assert s.pii_entity_types == {"EMAIL", "PHONE"} and s.pii_mask_style == "type" and s.pii_newline is False
    assert s.pii_failure_policy == "mask-all" and s.pii_min_score == 0.0


@pytest.mark.parametrize("variable,value", [
    ("PII_FIELDS", " , "), ("PII_FIELDS", "a..b"), ("PII_FIELDS", "a[0]"),
    ("PII_ENTITY_TYPES", "EMAIL,SHOE_SIZE"), ("PII_MIN_SCORE", "1.5"), ("PII_MASK_STYLE", "blur"),
    ("PII_FAILURE_POLICY", "ignore"), ("PII_LANGUAGE", "xx"), ("PII_MAX_RPS", "0"),
])
def test_bad_settings_fail_naming_the_variable(variable, value):
    environ = {"PII_FIELDS": "a", variable: value}
    with pytest.raises(SettingsError, match=variable):
        load_settings(RedactionSettings, environ)


def test_missing_fields_variable_is_named():
    with pytest.raises(SettingsError, match="PII_FIELDS"):
        load_settings(RedactionSettings, {})


def test_select_wildcards_arrays_and_non_strings():
    doc = {"a": "x", "n": 5, "f": 1.5, "b": True, "z": None, "o": {"p": ["q", {"r": "s"}]}}
    assert [(s.key, s.text, s.was_string) for s in select(doc, parse_field_paths("*"))] == [
        ("a", "x", True), ("n", "5", False), ("f", "1.5", False), (0, "q", True), ("r", "s", True)]
    assert [s.text for s in select({"o": [{"r": "1"}, {"r": "2"}, {"x": "3"}]}, parse_field_paths("o[*].r"))] == ["1", "2"]
    assert select({"a": "x"}, parse_field_paths("missing, a.b")) == []


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_rate_limiter_spaces_starts():
    clock = FakeClock()
    limiter = RateLimiter(10, clock, clock.sleep)
    starts = []
    for _ in range(5):
        assert limiter.acquire(deadline=100)
        starts.append(clock.now)
    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert not limiter.acquire(deadline=0.45)


class ScriptedClient:
    def __init__(self, failures):
        self.failures = list(failures)
        self.calls = 0

    def _answer(self):
        self.calls += 1
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "timeout":
                raise ReadTimeoutError(endpoint_url="http://x")
            raise ClientError({"Error": {"Code": failure, "Message": "m"}}, "DetectPiiEntities")
        return {"Entities": [{"Type": "EMAIL", "BeginOffset": 0, "EndOffset": 3, "Score": 0.9}],
                "Labels": [{"Name": "EMAIL", "Score": 0.9}]}

    def detect_pii_entities(self, **kwargs):
        return self._answer()

    def contains_pii_entities(self, **kwargs):
        return self._answer()


def _gateway(client, **kwargs):
    clock = FakeClock()
    return ComprehendGateway(client, max_concurrency=1, clock=clock, sleep=clock.sleep, rng=random.Random(1),
                             **kwargs), clock


def test_throttling_and_timeouts_are_retried_with_backoff():
    client = ScriptedClient(["ThrottlingException", "timeout", "InternalServerException"])
    gateway, clock = _gateway(client)
    [result] = gateway.run([Call("DetectPiiEntities", "abc", "en")])
    assert result.ok and result.spans[0].type == "EMAIL" and client.calls == 4
    assert gateway.throttled == 1 and clock.now > 0


def test_a_client_error_is_not_retried():
    client = ScriptedClient(["InvalidRequestException"])
    [result] = _gateway(client)[0].run([Call("ContainsPiiEntities", "abc", "en")])
    assert result.error == "InvalidRequestException" and client.calls == 1


def test_attempts_run_out():
    client = ScriptedClient(["ThrottlingException"] * 10)
    [result] = _gateway(client, max_attempts=3)[0].run([Call("ContainsPiiEntities", "abc", "en")])
    assert result.error == "ThrottlingException" and client.calls == 3


def test_no_call_starts_after_the_deadline():
    client = ScriptedClient([])
    gateway, clock = _gateway(client, deadline=-1.0)
    [result] = gateway.run([Call("ContainsPiiEntities", "abc", "en")])
    assert result.error == "deadline" and client.calls == 0


def test_select_walks_any_depth_without_recursion():
    # Built in Python (no parser involved): far deeper than the recursion limit.
    def deep() -> object:
        value: object = "mail bob@example.com"
        for _ in range(50_000):
            value = [value]
        return value

    doc = {"a": {"b": deep()}, "c": [{"d": deep()}]}
    assert [s.text for s in select(doc, parse_field_paths("a, c[*].d"))] == ["mail bob@example.com"] * 2


def test_the_comprehend_client_makes_one_attempt_per_request(monkeypatch):
    # botocore's `max_attempts` counts retries: with 1 every throttled call was sent twice, the second
    # time past the gateway's rate limiter (issue 12 item 4). The gateway alone retries, paced.
    import threading

    from werkzeug.serving import make_server

    from local.emulators.comprehend import make_app
    from pii_redaction.adapters.comprehend import comprehend_client
    from pitwall_shared import aws

    app = make_app(use_model=False, error_rate=1.0, error_code="ThrottlingException")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name, value in {"AWS_ENDPOINT_URL_COMPREHEND": f"http://127.0.0.1:{server.server_port}",
                            "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x",
                            "AWS_SECRET_ACCESS_KEY": "x"}.items():
            monkeypatch.setenv(name, value)
        aws.client.cache_clear()
        with pytest.raises(ClientError, match="ThrottlingException"):
            comprehend_client().contains_pii_entities(Text="hello", LanguageCode="en")
        assert app.stats.errors == {"ThrottlingException": 1}
    finally:
        server.shutdown()
        aws.client.cache_clear()
