"""Item sizes and capacity units as AWS documents them (local/dynamodb_capacity.py), and the meter
on moto: each request's units from the items it read and wrote."""

from __future__ import annotations

import os

import boto3
import pytest
from moto import mock_aws

from local.dynamodb_capacity import CapacityMeter, item_size, read_units, value_size, write_units


def test_item_size_follows_the_documented_rules():
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_size({"N": "12345"}) == 4  # 5 significant digits -> 3 bytes, + 1
    assert value_size({"N": "1200.00"}) == 2  # zeroes trimmed: "12"
    assert value_size({"B": b"\x00" * 10}) == 10
    assert value_size({"BOOL": True}) == 1 and value_size({"NULL": True}) == 1
    # a map: 3 bytes + per element 1 byte + its key + its value
    assert value_size({"M": {"ab": {"S": "xyz"}}}) == 3 + 1 + 2 + 3
    assert value_size({"L": [{"S": "a"}, {"S": "bc"}]}) == 3 + (1 + 1) + (1 + 2)
    assert item_size({"pk": {"S": "F1#r"}, "version": {"N": "7"}}) == 2 + 4 + 7 + 2


@pytest.mark.parametrize(("size", "rcu", "wcu"), [(0, 1, 1), (1024, 1, 1), (1025, 1, 2), (4096, 1, 4), (4097, 2, 5)])
def test_units_round_up(size, rcu, wcu):
    assert read_units(size) == rcu and read_units(size, consistent=False) == rcu / 2
    assert write_units(size) == wcu


def test_meter_charges_each_request_on_the_items_it_touches(monkeypatch):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}])
        key = {"pk": {"S": "a"}, "sk": {"S": "b"}}
        meter = CapacityMeter(tables=("t",))
        with meter.metering():
            ddb.put_item(TableName="t", Item={**key, "x": {"B": os.urandom(9000)}})  # 9,007 bytes
            ddb.get_item(TableName="t", Key=key, ConsistentRead=True)
            ddb.get_item(TableName="t", Key=key)
            with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
                ddb.put_item(TableName="t", Item=key, ConditionExpression="attribute_not_exists(pk)")
            ddb.put_item(TableName="t", Item=key)  # shrinks it: charged on the larger, the old one
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": "c"}}}}])
        got = [(r.operation, r.rcu, r.wcu) for r in meter.records]
        assert got == [("PutItem", 0, 9), ("GetItem", 3, 0), ("GetItem", 1.5, 0), ("PutItem", 0, 9),
                       ("PutItem", 0, 9), ("TransactWriteItems", 0, 2)]
        assert meter.records[-2].written == (("a", "b", 2 + 1 + 2 + 1),)
