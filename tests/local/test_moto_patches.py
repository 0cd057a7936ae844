"""The moto patches keep AWS's behaviour: here, TransactWriteItems with an item-level undo."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from local import moto_patches
from local.provision import REGION

TABLE = "usage"


@pytest.fixture
def dynamodb():
    moto_patches.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                       {"AttributeName": "sk", "KeyType": "RANGE"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                                  {"AttributeName": "sk", "AttributeType": "S"}])
        yield client


def key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": "X"}}


def count(client, pk: str) -> int | None:
    item = client.get_item(TableName=TABLE, Key=key(pk)).get("Item")
    return None if item is None else int(item["n"]["N"])


def add(pk: str, n: int) -> dict:
    return {"Update": {"TableName": TABLE, "Key": key(pk), "UpdateExpression": "ADD n :n",
                       "ExpressionAttributeValues": {":n": {"N": str(n)}}}}


def put_new(pk: str) -> dict:
    return {"Put": {"TableName": TABLE, "Item": {**key(pk), "n": {"N": "1"}},
                    "ConditionExpression": "attribute_not_exists(pk)"}}


def test_a_committed_transaction_applies_every_item(dynamodb):
    dynamodb.transact_write_items(TransactItems=[put_new("marker"), add("counter", 5)])
    assert count(dynamodb, "marker") == 1
    assert count(dynamodb, "counter") == 5


def test_a_cancelled_transaction_leaves_every_named_item_as_it_was(dynamodb):
    dynamodb.transact_write_items(TransactItems=[put_new("marker"), add("counter", 5)])
    # The counter update runs before the marker's condition fails: it must be undone; the new
    # item the transaction put must not stay either.
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[add("counter", 7), put_new("fresh"), put_new("marker")])
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert count(dynamodb, "counter") == 5
    assert count(dynamodb, "fresh") is None
    assert count(dynamodb, "marker") == 1


def test_a_cancelled_transaction_does_not_swap_the_table_or_undo_other_writes(dynamodb):
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[TABLE]
    dynamodb.put_item(TableName=TABLE, Item={**key("other"), "n": {"N": "3"}})
    dynamodb.transact_write_items(TransactItems=[put_new("marker")])
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=[add("counter", 1), put_new("marker")])
    # moto alone would have put back a deep copy of the whole table taken before the transaction.
    assert dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[TABLE] is table
    assert count(dynamodb, "other") == 3
    assert count(dynamodb, "counter") is None


def test_a_refused_request_changes_nothing(dynamodb):
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[add("counter", 1), add("counter", 2)])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert count(dynamodb, "counter") is None


def test_kinesis_reads_on_from_the_position_with_the_same_answers_as_a_scan():
    from moto.kinesis.models import Shard, kinesis_backends

    moto_patches.apply()
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name=REGION)
        kinesis.create_stream(StreamName="s", ShardCount=1)
        for start in range(0, 60, 20):
            kinesis.put_records(StreamName="s", Records=[{"Data": f"r{i}".encode(), "PartitionKey": "p"}
                                                         for i in range(start, start + 20)])
        shard = next(iter(kinesis_backends[DEFAULT_ACCOUNT_ID][REGION].streams["s"].shards.values()))
        assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (1, 60)
        read_on = Shard.get_records.__wrapped__  # under the lock of the other patch
        scan = read_on.__wrapped__  # moto's own
        for position in (0, 1, 25, 59, 60, 75):
            for limit in (None, 1, 10, 100):
                assert read_on(shard, str(position), limit) == scan(shard, str(position), limit), (position, limit)
        # Through the API: every record once, in order, and nothing more at the end.
        iterator = kinesis.get_shard_iterator(StreamName="s", ShardId=shard.shard_id,
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        seen = []
        while True:
            page = kinesis.get_records(ShardIterator=iterator, Limit=7)
            if not page["Records"]:
                break
            seen += [record["Data"].decode() for record in page["Records"]]
            iterator = page["NextShardIterator"]
        assert seen == [f"r{i}" for i in range(60)]
