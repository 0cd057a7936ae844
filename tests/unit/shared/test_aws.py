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


def test_conditional_check_failed_is_told_from_every_other_error():
    """DynamoDB's refusal of a conditional write (single item or transaction) against moto, and
    errors that must not be mistaken for it."""
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from pitwall_shared.aws import conditional_check_failed

    def refusal(call) -> ClientError:
        with pytest.raises(ClientError) as caught:
            call()
        return caught.value

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        taken = {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        assert conditional_check_failed(refusal(lambda: ddb.put_item(**taken)))
        assert conditional_check_failed(refusal(lambda: ddb.transact_write_items(TransactItems=[{"Put": taken}])))
        assert not conditional_check_failed(refusal(lambda: ddb.put_item(TableName="missing", Item={"pk": {"S": "a"}})))
        assert not conditional_check_failed(refusal(lambda: ddb.get_item(TableName="t", Key={"nope": {"S": "a"}})))
    throttled = ClientError({"Error": {"Code": "TransactionCanceledException"},
                             "CancellationReasons": [{"Code": "ThrottlingError"}]}, "TransactWriteItems")
    assert not conditional_check_failed(throttled)
    assert not conditional_check_failed(RuntimeError("ConditionalCheckFailedException"))


def test_conditional_write_is_false_only_when_the_condition_did_not_hold():
    import boto3
    import pytest
    from botocore.exceptions import ClientError
    from moto import mock_aws

    from pitwall_shared.aws import conditional_write

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
        new = {"TableName": "t", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}
        assert conditional_write(lambda: ddb.put_item(**new)) is True
        assert conditional_write(lambda: ddb.put_item(**new)) is False
        assert conditional_write(lambda: ddb.transact_write_items(TransactItems=[{"Put": new}])) is False
        with pytest.raises(ClientError):
            conditional_write(lambda: ddb.put_item(TableName="missing", Item={"pk": {"S": "a"}}))
