"""Issue 16 item 7: TLS-only buckets, the customer-managed data key and who may use it, the incident role's MFA.

Read from the SAM translation (what CloudFormation receives: the functions' generated roles are there).
The review statements of the key policy sit in `Fn::If [ReviewEnabled, ...]`; they are read as if review
were on (the stronger case: more principals).
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from typing import Any

import pytest

from local.provision import translate
from tests.security.iam_policies import ROOT

KEY = "PitwallDataKey"
KEYED_BUCKETS = ("PiiRawBucket", "PiiRedactedBucket", "ReviewManifestsBucket")
USE_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:ReEncryptFrom", "kms:ReEncryptTo",
               "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:GenerateDataKeyWithoutPlaintext",
               "kms:CreateGrant", "kms:*", "*"}
ROOT_PRINCIPAL = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
S3_VIA = {"Fn::Sub": "s3.${AWS::Region}.amazonaws.com"}


@cache
def _resources() -> dict[str, Any]:
    return translate(ROOT / "template.yaml").cfn["Resources"]


def _of_type(resource_type: str) -> dict[str, dict]:
    return {name: r.get("Properties", {}) for name, r in _resources().items() if r["Type"] == resource_type}


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _unwrap_if(statement: dict) -> dict | None:
    """`Fn::If [cond, then, AWS::NoValue]` → then (review on)."""
    if "Fn::If" in statement:
        then = statement["Fn::If"][1]
        return None if then == {"Ref": "AWS::NoValue"} else then
    return statement


def _key_statements() -> list[dict]:
    statements = _resources()[KEY]["Properties"]["KeyPolicy"]["Statement"]
    return [s for s in (_unwrap_if(st) for st in statements) if s is not None]


def _sub_text(value: Any) -> str:
    """A resource/ARN pattern as text: `${Bucket.Arn}/tasks/*` for a Sub, `${Bucket.Arn}` for a GetAtt."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    return json.dumps(value)


def _contexts(statement: dict) -> list[str]:
    like = statement.get("Condition", {}).get("ArnLike", {})
    return [_sub_text(v) for v in _as_list(like.get("kms:EncryptionContext:aws:s3:arn", []))]


def _covers(patterns: list[str], resource: str) -> bool:
    """Some key-policy context pattern admits every object the IAM resource pattern names."""
    return any(fnmatch.fnmatchcase(resource, pattern) for pattern in patterns)


def _principal_role(statement: dict) -> str | None:
    aws = statement.get("Principal", {}).get("AWS")
    if isinstance(aws, dict) and "Fn::GetAtt" in aws:
        return aws["Fn::GetAtt"][0]
    return None


# --- TLS only ---------------------------------------------------------------------------------------------

def test_every_bucket_denies_requests_without_tls():
    buckets = _of_type("AWS::S3::Bucket")
    policies = {props["Bucket"]["Ref"]: props["PolicyDocument"]["Statement"]
                for props in _of_type("AWS::S3::BucketPolicy").values()}
    assert set(KEYED_BUCKETS) <= set(buckets)
    for bucket in buckets:
        assert bucket in policies, f"{bucket} has no bucket policy"
        denies = [s for s in policies[bucket] if s["Effect"] == "Deny"
                  and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
        assert denies, f"{bucket}: no aws:SecureTransport deny"
        deny = denies[0]
        assert deny["Principal"] == "*" and deny["Action"] == "s3:*", bucket
        assert {_sub_text(r) for r in _as_list(deny["Resource"])} == {f"${{{bucket}.Arn}}", f"${{{bucket}.Arn}}/*"}


# --- the data key -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", KEYED_BUCKETS)
def test_pii_and_review_buckets_are_encrypted_with_the_data_key(bucket):
    props = _resources()[bucket]["Properties"]
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    alias = _resources()[f"{KEY}Alias"]["Properties"]
    assert alias["TargetKeyId"] == {"Ref": KEY}
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    named = _sub_text(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert named.endswith(":" + alias["AliasName"]["Fn::Sub"]), named
    # A Bucket Key would make the encryption context the bucket's ARN, not the object's: the per-prefix
    # conditions of the key policy would then never match.
    assert rule["BucketKeyEnabled"] is False
    # A PUT asking for another encryption (SSE-S3) is refused.
    (policy,) = [p for p in _of_type("AWS::S3::BucketPolicy").values() if p["Bucket"] == {"Ref": bucket}]
    assert any(s["Effect"] == "Deny" and s["Action"] == "s3:PutObject" and s["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
        for s in policy["PolicyDocument"]["Statement"]), bucket


def test_firehose_writes_both_destinations_with_the_data_key():
    (stream,) = _of_type("AWS::KinesisFirehose::DeliveryStream").values()
    destination = stream["ExtendedS3DestinationConfiguration"]
    for config in (destination, destination["S3BackupConfiguration"]):
        assert config["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"] == {"Fn::GetAtt": [KEY, "Arn"]}


def test_data_key_rotates_and_the_account_root_only_administers_it():
    props = _resources()[KEY]["Properties"]
    assert props["EnableKeyRotation"] is True
    for statement in _key_statements():
        assert statement["Effect"] == "Allow"
        if statement["Principal"] != {"AWS": ROOT_PRINCIPAL}:
            continue
        actions = set(_as_list(statement["Action"]))
        if actions & USE_ACTIONS:
            # The one delegation: IAM may let readers decrypt redacted records, nothing else.
            assert actions == {"kms:Decrypt"}, statement.get("Sid")
            assert statement["Condition"]["StringEquals"] == {"kms:ViaService": S3_VIA}
            assert _contexts(statement) == ["${PiiRedactedBucket.Arn}/redacted/*"]
        assert not any("*" in a and a.split(":")[-1] in ("*", "Create*", "Encrypt*", "Decrypt*") for a in actions)


def test_every_principal_that_uses_the_key_is_a_stack_role_through_s3_for_its_own_objects():
    roles = _of_type("AWS::IAM::Role")
    for statement in _key_statements():
        role = _principal_role(statement)
        if role is None:
            continue
        assert role in roles, role
        assert set(_as_list(statement["Action"])) <= {"kms:Decrypt", "kms:GenerateDataKey"}, role
        assert statement["Resource"] == "*"  # in a key policy: this key
        assert statement["Condition"]["StringEquals"] == {"kms:ViaService": S3_VIA}, role
        contexts = _contexts(statement)
        assert contexts and all(c.split("}")[0].lstrip("${").split(".")[0] in KEYED_BUCKETS for c in contexts), role


def _s3_grants_on_keyed_buckets(role_props: dict) -> list[tuple[str, str]]:
    grants = []
    for policy in role_props.get("Policies", []):
        for each in _as_list(policy["PolicyDocument"]["Statement"]):
            statement = _unwrap_if(each)
            if statement is None or statement["Effect"] != "Allow":
                continue
            for action in _as_list(statement["Action"]):
                if action not in ("s3:GetObject", "s3:PutObject"):
                    continue
                for resource in _as_list(statement["Resource"]):
                    text = _sub_text(resource)
                    if any(text.startswith(f"${{{bucket}.Arn}}/") for bucket in KEYED_BUCKETS):
                        grants.append((action, text))
    return grants


def test_every_role_that_reads_or_writes_a_keyed_bucket_may_use_the_key_for_exactly_those_objects():
    by_role: dict[str, list[dict]] = {}
    for statement in _key_statements():
        if (role := _principal_role(statement)) is not None:
            by_role.setdefault(role, []).append(statement)
    needing = {}
    for name, props in _of_type("AWS::IAM::Role").items():
        if grants := _s3_grants_on_keyed_buckets(props):
            needing[name] = grants
    assert {"PiiDeliveryRole", "PiiIncidentRole", "ReviewTriggerFunctionRole", "ReviewCompletionFunctionRole",
            "ReviewA2iExecutionRole"} <= set(needing)
    for role, grants in needing.items():
        statements = by_role.get(role, [])
        assert statements, f"{role} reads/writes a keyed bucket but the key policy does not name it"
        for action, resource in grants:
            kms_action = "kms:Decrypt" if action == "s3:GetObject" else "kms:GenerateDataKey"
            assert any(kms_action in _as_list(s["Action"]) and _covers(_contexts(s), resource)
                       for s in statements), f"{role}: {action} {resource} without {kms_action}"
    # ... and no role the key policy names is there for objects it cannot reach by IAM.
    assert set(by_role) == set(needing)


def test_no_function_role_is_granted_kms_by_iam():
    """The key policy is the only grant of the data key to a role (least privilege, one place to read)."""
    for name, props in _of_type("AWS::IAM::Role").items():
        text = json.dumps(props.get("Policies", []))
        assert '"kms:' not in text, name


# --- failed records and the incident role -----------------------------------------------------------------

def test_failed_records_can_be_read_and_decrypted_by_the_incident_role_only():
    (stream,) = _of_type("AWS::KinesisFirehose::DeliveryStream").values()
    destination = stream["ExtendedS3DestinationConfiguration"]
    assert destination["BucketARN"] == {"Fn::GetAtt": ["PiiRedactedBucket", "Arn"]}
    assert destination["ErrorOutputPrefix"].startswith("errors/")
    failed_object = "${PiiRedactedBucket.Arn}/errors/processing-failed/2026/12/04/20/x"
    may_decrypt = {_principal_role(s) or json.dumps(s["Principal"]) for s in _key_statements()
                   if "kms:Decrypt" in _as_list(s["Action"]) and _covers(_contexts(s), failed_object)}
    # The delivery role's Decrypt is for multipart uploads: its IAM policy has no s3:GetObject at all.
    assert may_decrypt == {"PiiIncidentRole", "PiiDeliveryRole"}
    delivery = json.dumps(_resources()["PiiDeliveryRole"]["Properties"]["Policies"])
    assert "s3:GetObject" not in delivery
    readers = json.dumps(_resources()["PiiRedactedReadersPolicy"]["Properties"])
    assert "errors/" not in readers


def test_incident_role_can_be_assumed_only_with_mfa():
    trust = _resources()["PiiIncidentRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust, "no trust statement"
    for statement in trust:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"]["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
