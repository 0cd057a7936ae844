"""The publish ledger's batch calls against moto (issue 17): marks written in batches of 25, read
back in batches of 100, the closed-battle records kept with their entries and queried per race."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from race_predictor.adapters.dynamodb import DynamoPublishLedger

TABLE = "race-state-ledger-test"


@pytest.fixture
def ledger(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                               {"AttributeName": "sk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                    {"AttributeName": "sk", "KeyType": "RANGE"}])
        yield DynamoPublishLedger(TABLE, ddb)


def test_marks_in_batches_read_back_with_claims_and_kept_records(ledger):
    entries = [(f"L{n}-AAA-BBB@{n}", None) for n in range(60)]  # more than one BatchWriteItem
    entries += [("L3-AAA-BBB@end", {"battle_id": "L3-AAA-BBB", "status": "resolved"}),
                ("L9-CCC-DDD@end", {"battle_id": "L9-CCC-DDD", "status": "expired"})]
    ledger.mark_published_many("F1#r1", entries, expires_at=2_000_000_000)
    assert ledger.claim("F1#r1", "L99-EEE-FFF@99", 1000.0) == "claimed"
    asked = [entry for entry, _ in entries] + ["L99-EEE-FFF@99"] + [f"absent{n}" for n in range(60)]
    statuses = ledger.statuses("F1#r1", asked)  # more than one BatchGetItem
    assert len(statuses) == len(entries) + 1
    assert all(statuses[entry] == ("published", 0.0) for entry, _ in entries)
    assert statuses["L99-EEE-FFF@99"] == ("claimed", 1000.0)
    assert ledger.statuses("F1#other", asked) == {}
    assert sorted(r["battle_id"] for r in ledger.kept("F1#r1")) == ["L3-AAA-BBB", "L9-CCC-DDD"]
    assert ledger.kept("F1#other") == []
