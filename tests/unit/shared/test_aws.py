"""pitwall_shared.aws: one client per service per process, explicit timeouts, endpoint variables."""

from __future__ import annotations

from pitwall_shared.aws import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, client


def test_same_client_for_the_same_service(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert client("sqs") is client("sqs")
    assert client("sqs") is not client("sns")


def test_timeouts_and_retry_mode_are_explicit(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = client("dynamodb").meta.config
    assert (config.connect_timeout, config.read_timeout) == (CONNECT_TIMEOUT_S, READ_TIMEOUT_S)
    assert config.retries["mode"] == "standard"


def test_service_endpoint_variable_is_honoured(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_COMPREHEND", "http://127.0.0.1:4999")
    client.cache_clear()
    try:
        assert client("comprehend").meta.endpoint_url == "http://127.0.0.1:4999"
    finally:
        client.cache_clear()


def test_table_adapter_uses_a_given_client_or_the_process_client(monkeypatch):
    from pitwall_shared.aws import DynamoTableAdapter

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    given = object()
    assert DynamoTableAdapter("t", given).dynamodb is given
    adapter = DynamoTableAdapter("t")
    assert adapter.table_name == "t" and adapter.dynamodb is client("dynamodb")
