"""The Comprehend emulator over its wire protocol, through a real boto3 client: shapes, the UTF-8 byte
limit, error codes and switchable faults."""

from __future__ import annotations

import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local.emulators.comprehend import MAX_TEXT_BYTES, make_app


@pytest.fixture(scope="module")
def served():
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = boto3.client("comprehend", endpoint_url=f"http://127.0.0.1:{server.server_port}",
                          region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}))
    yield app, client
    server.shutdown()


@pytest.fixture
def comprehend(served):
    app, client = served
    app.configure(latency_ms=0, rps_quota=None, error_rate=0.0, slow_rate=0.0)
    return app, client


def test_detect_returns_comprehend_shaped_entities(comprehend):
    _, client = comprehend
    text = "Email ana@example.org or call 206-555-0143."
    entities = client.detect_pii_entities(Text=text, LanguageCode="en")["Entities"]
    found = {(e["Type"], text[e["BeginOffset"]:e["EndOffset"]]) for e in entities}
    assert found == {("EMAIL", "ana@example.org"), ("PHONE", "206-555-0143")}
    assert all(0 < e["Score"] <= 1 for e in entities)


def test_contains_returns_labels(comprehend):
    _, client = comprehend
    labels = client.contains_pii_entities(Text="SSN 548-95-6370", LanguageCode="en")["Labels"]
    assert [label["Name"] for label in labels] == ["SSN"]
    assert client.contains_pii_entities(Text="nothing here", LanguageCode="en")["Labels"] == []


def test_the_limit_is_on_utf8_bytes_not_characters(comprehend):
    _, client = comprehend
    fits = "é" * (MAX_TEXT_BYTES // 2)
    client.contains_pii_entities(Text=fits, LanguageCode="en")
    with pytest.raises(ClientError) as error:
        client.contains_pii_entities(Text=fits + "é", LanguageCode="en")  # 50,001 chars, 100,002 bytes
    assert error.value.response["Error"]["Code"] == "TextSizeLimitExceededException"


def test_unsupported_language(comprehend):
    _, client = comprehend
    with pytest.raises(ClientError) as error:
        client.detect_pii_entities(Text="hola", LanguageCode="fr")
    assert error.value.response["Error"]["Code"] == "UnsupportedLanguageException"


def test_requests_over_the_quota_are_throttled(comprehend):
    app, client = comprehend
    app.configure(rps_quota=3)
    codes = []
    for _ in range(6):
        try:
            client.contains_pii_entities(Text="hello", LanguageCode="en")
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert codes[:3] == ["ok"] * 3 and "ThrottlingException" in codes[3:]


@pytest.mark.parametrize("code,status", [("InternalServerException", 500), ("ThrottlingException", 400),
                                          ("InvalidRequestException", 400)])
def test_error_rate_injects_the_configured_error(comprehend, code, status):
    app, client = comprehend
    app.configure(error_rate=1.0, error_code=code)
    with pytest.raises(ClientError) as error:
        client.detect_pii_entities(Text="hello", LanguageCode="en")
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_stats_count_calls_and_characters(comprehend):
    app, client = comprehend
    before = app.stats.characters.get("DetectPiiEntities", 0)
    client.detect_pii_entities(Text="abc", LanguageCode="en")
    assert app.stats.characters["DetectPiiEntities"] == before + 3


def test_paragraphs_are_independent():
    # Packing relies on it: context words do not reach across a blank line.
    detector = make_app().detector
    alone = detector.detect("123456")
    assert alone == [] and [e.type for e in detector.detect("my pin 123456")] == ["PIN"]
    assert detector.detect("my pin\n\n123456") == []


def test_the_model_is_loaded_when_the_app_is_built_not_on_the_first_request():
    from local.emulators.pii_detect import ner

    ner._model.cache_clear()
    make_app()
    assert ner._model.cache_info().currsize == 1
    make_app(use_model=False)  # the pattern-only detector loads nothing
    assert ner._model.cache_info().misses == 1
