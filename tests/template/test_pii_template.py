"""template.yaml's pii_redaction section: least-privilege IAM for the processor, encrypted private
buckets, the error output prefix out of reach of the redacted bucket's readers, and a delivery
stream whose buffering comes from parameters and whose processor is the PII function."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.provision import translate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def resources():
    return translate(TEMPLATE).cfn["Resources"]


def _statements(resources, role_name):
    role = resources[role_name]["Properties"]
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def test_processor_may_call_only_the_two_comprehend_actions(resources):
    role = resources["PiiRedactionFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = [a for s in _statements(resources, role) for a in
               (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
    comprehend = sorted(a for a in actions if a.startswith("comprehend:"))
    assert comprehend == ["comprehend:ContainsPiiEntities", "comprehend:DetectPiiEntities"]
    assert set(actions) - set(comprehend) == {"events:PutEvents", "s3:PutObject"}
    # s3:PutObject only for review task objects, only under pii-review/ of the raw-PII bucket.
    [put] = [s for s in _statements(resources, role) if "s3:PutObject" in json.dumps(s["Action"])]
    assert put["Action"] in ("s3:PutObject", ["s3:PutObject"])
    assert put["Resource"] == {"Fn::Sub": "${PiiRawBucket.Arn}/pii-review/*"}
    managed = resources[role]["Properties"]["ManagedPolicyArns"]
    assert sorted(arn.rsplit("/", 1)[-1] for arn in managed) == ["AWSLambdaBasicExecutionRole",
                                                                  "AWSXrayWriteOnlyAccess"]


@pytest.mark.parametrize("bucket", ["PiiRedactedBucket", "PiiRawBucket"])
def test_buckets_are_encrypted_and_private(resources, bucket):
    props = resources[bucket]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4


def test_error_prefix_is_denied_to_everyone_but_the_incident_role(resources):
    stream = resources["PiiDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    error_prefix = stream["ErrorOutputPrefix"].split("/")[0] + "/"
    assert not stream["Prefix"].startswith(error_prefix)
    readers = resources["PiiRedactedReadersPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert all(error_prefix not in json.dumps(s["Resource"]) for s in readers)
    policy = resources["PiiRedactedBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    deny = next(s for s in policy if s["Effect"] == "Deny" and s["Action"] == "s3:GetObject")
    assert error_prefix + "*" in json.dumps(deny["Resource"])
    assert deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == {"Fn::GetAtt": ["PiiIncidentRole", "Arn"]}


def test_delivery_stream_wiring(resources):
    dest = resources["PiiDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    params = {p["ParameterName"]: p["ParameterValue"]
              for p in dest["ProcessingConfiguration"]["Processors"][0]["Parameters"]}
    assert params["LambdaArn"] == {"Fn::GetAtt": ["PiiRedactionFunction", "Arn"]}
    assert params["BufferSizeInMBs"] == {"Ref": "PiiBufferSizeMB"}
    assert params["BufferIntervalInSeconds"] == {"Ref": "PiiBufferIntervalSeconds"}
    assert dest["S3BackupMode"] == "Enabled"
    assert dest["S3BackupConfiguration"]["BucketARN"] == {"Fn::GetAtt": ["PiiRawBucket", "Arn"]}
    assert dest["BucketARN"] == {"Fn::GetAtt": ["PiiRedactedBucket", "Arn"]}


# --- one Comprehend quota for the whole account (issue 12 item 4) -----------------------------------
@pytest.fixture(scope="module")
def cfn():
    return translate(TEMPLATE).cfn


def test_reserved_concurrency_and_share_come_from_the_account_quota(cfn):
    from pii_redaction.logic.quota import HEADROOM, invocation_share, reserved_concurrency

    parameter = cfn["Parameters"]["ComprehendPiiTps"]
    rows = cfn["Mappings"]["PiiComprehendQuota"]
    # Every allowed quota has a row, every row follows the formula, and together the invocations
    # stay under the quota (with the headroom left to other callers).
    assert sorted(map(int, rows)) == sorted(map(int, parameter["AllowedValues"]))
    assert str(parameter["Default"]) in rows
    for tps, row in rows.items():
        concurrency = int(row["ReservedConcurrency"])
        assert concurrency == reserved_concurrency(int(tps)), tps
        assert concurrency * invocation_share(int(tps), concurrency) <= HEADROOM * int(tps) + 1e-9
    function = cfn["Resources"]["PiiRedactionFunction"]["Properties"]
    derived = {"Fn::FindInMap": ["PiiComprehendQuota", {"Ref": "ComprehendPiiTps"}, "ReservedConcurrency"]}
    assert function["ReservedConcurrentExecutions"] == derived
    variables = function["Environment"]["Variables"]
    assert variables["PII_RESERVED_CONCURRENCY"] == derived
    assert variables["PII_COMPREHEND_TPS"] == {"Ref": "ComprehendPiiTps"}
    assert "PII_MAX_RPS" not in variables  # an explicit ceiling would not follow the quota


def test_the_function_paces_itself_to_its_share():
    from pii_redaction.settings import RedactionSettings
    from pitwall_shared.settings import load_settings

    s = load_settings(RedactionSettings, {"PII_FIELDS": "a", "PII_COMPREHEND_TPS": "50", "PII_RESERVED_CONCURRENCY": "4"})
    assert s.requests_per_second == pytest.approx(11.25)
    s = load_settings(RedactionSettings, {"PII_FIELDS": "a", "PII_COMPREHEND_TPS": "50", "PII_RESERVED_CONCURRENCY": "4",
                                          "PII_MAX_RPS": "7"})
    assert s.requests_per_second == 7


def test_review_candidates_go_to_the_raw_pii_bucket_and_are_off_by_default(cfn):
    variables = cfn["Resources"]["PiiRedactionFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PII_REVIEW_BUCKET"] == {"Ref": "PiiRawBucket"}
    assert variables["PII_REVIEW_BAND"] == {"Ref": "PiiReviewBand"}
    assert cfn["Parameters"]["PiiReviewBand"]["Default"] == ""
