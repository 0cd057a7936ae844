"""Encryption at rest, public access and API authentication in template.yaml (issue 8, security 3),
checked on the template as written and on its SAM translation (what CloudFormation receives)."""

from __future__ import annotations

from functools import cache

from local.provision import load_template, translate
from tests.security.iam_policies import ROOT

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")


@cache
def _sam():
    return load_template(ROOT / "template.yaml")["Resources"]


@cache
def _cfn():
    return translate(ROOT / "template.yaml").cfn["Resources"]


def _of_type(resource_type: str) -> dict:
    found = {name: r.get("Properties", {}) for name, r in _cfn().items() if r["Type"] == resource_type}
    return found


def test_every_table_is_encrypted():
    tables = _of_type("AWS::DynamoDB::Table")
    assert tables
    for name, props in tables.items():
        assert props.get("SSESpecification", {}).get("SSEEnabled") is True, name


def test_every_bucket_is_encrypted_and_blocks_public_access():
    buckets = _of_type("AWS::S3::Bucket")
    assert buckets
    for name, props in buckets.items():
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        assert rules and all(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
                             for rule in rules), name
        block = props.get("PublicAccessBlockConfiguration", {})
        assert all(block.get(flag) is True for flag in PUBLIC_ACCESS_FLAGS), name
        assert props.get("OwnershipControls", {}).get("Rules") == [{"ObjectOwnership": "BucketOwnerEnforced"}], name


def test_no_bucket_policy_grants_to_everyone():
    for name, props in _of_type("AWS::S3::BucketPolicy").items():
        for statement in props["PolicyDocument"]["Statement"]:
            if statement.get("Principal") == "*" or statement.get("Principal") == {"AWS": "*"}:
                assert statement["Effect"] == "Deny", f"{name}: {statement.get('Sid')} allows everyone"


def test_every_queue_is_encrypted():
    queues = _of_type("AWS::SQS::Queue")
    assert queues
    for name, props in queues.items():
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), name


def test_every_stream_is_encrypted():
    streams = _of_type("AWS::Kinesis::Stream")
    delivery_streams = _of_type("AWS::KinesisFirehose::DeliveryStream")
    assert streams and delivery_streams, "the template has a Kinesis stream and a Firehose delivery stream"
    for name, props in streams.items():
        assert props.get("StreamEncryption", {}).get("EncryptionType") == "KMS", name
    for name, props in delivery_streams.items():
        assert props.get("DeliveryStreamEncryptionConfigurationInput", {}).get("KeyType"), name


def test_every_queue_admits_only_its_rules():
    for name, props in _of_type("AWS::SQS::QueuePolicy").items():
        for statement in props["PolicyDocument"]["Statement"]:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}, name
            assert statement["Action"] == "sqs:SendMessage", name
            assert "aws:SourceArn" in statement["Condition"]["ArnEquals"], name


def test_every_route_requires_authentication():
    apis = {name: r["Properties"] for name, r in _sam().items() if r["Type"] == "AWS::Serverless::Api"}
    routes = 0
    for name, resource in _sam().items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event_name, event in (resource["Properties"].get("Events") or {}).items():
            if event["Type"] != "Api":
                continue
            routes += 1
            props = event["Properties"]
            api = props.get("RestApiId", {}).get("Ref")
            assert api in apis, f"{name}.{event_name} is not on a declared Api (the implicit one has no auth)"
            assert "Auth" not in props, f"{name}.{event_name}: auth is the OpenAPI document's (issue 14)"
    assert routes >= 7
    # In what CloudFormation receives (the OpenAPI documents are the bodies, issue 14): every method
    # of every REST API is IAM-authorised, through a SigV4 scheme API Gateway recognises.
    bodies = _of_type("AWS::ApiGateway::RestApi")
    assert len(bodies) == len(apis)
    for name, props in bodies.items():
        body = props["Body"]
        scheme = body["components"]["securitySchemes"]["sigv4"]
        assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4", name
        assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization"), name
        for path, methods in body["paths"].items():
            for method, spec in methods.items():
                assert spec.get("security") == [{"sigv4": []}], f"{name} {method.upper()} {path}"
                assert spec.get("x-amazon-apigateway-auth") == {"type": "AWS_IAM"}, f"{name} {method.upper()} {path}"
