"""template.yaml: lints clean, translates offline, deploys into moto with every resource created,
and keeps the house rules (encryption at rest, queues with dead-letter queues, scoped rules)."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from moto import mock_aws

from local import moto_patches
from local.provision import REGION, adapt_for_moto, deploy, translate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture(scope="module")
def translation():
    return translate(TEMPLATE)


def resources_of(translation, kind):
    return {name: res for name, res in translation.cfn["Resources"].items() if res["Type"] == kind}


def test_template_lints_clean():
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=[REGION]))
    assert not matches, "\n".join(str(match) for match in matches)


def test_translates_offline_with_the_tests_python_as_runtime(translation):
    # Tests run on the runtime's Python (README, "Packaging and runtime"): python3.11 today.
    expected = f"python{sys.version_info.major}.{sys.version_info.minor}"
    functions = resources_of(translation, "AWS::Lambda::Function")
    assert functions, "the template defines no function"
    for name, function in functions.items():
        assert function["Properties"]["Runtime"] == expected, f"{name} runs {function['Properties']['Runtime']}"


def test_every_function_source_folder_exists(translation):
    for logical_id, folder in translation.code_dirs.items():
        assert folder.is_dir(), f"{logical_id}: {folder} is missing"


def test_deploys_into_moto_with_every_resource(translation):
    moto_patches.apply()
    with mock_aws():
        ids = deploy(translation, stack_name="pitwall",
                     cloudformation=boto3.client("cloudformation", region_name=REGION),
                     s3=boto3.client("s3", region_name=REGION))
    # With the default parameters every Condition is false (no alarm e-mail, no work team).
    expected = {name for name, res in adapt_for_moto(translation.cfn)["Resources"].items() if "Condition" not in res}
    assert set(ids) == expected


def test_every_table_bucket_queue_and_stream_is_encrypted(translation):
    for name, res in resources_of(translation, "AWS::DynamoDB::Table").items():
        assert res["Properties"].get("SSESpecification", {}).get("SSEEnabled") is True, name
    for name, res in resources_of(translation, "AWS::S3::Bucket").items():
        assert res["Properties"].get("BucketEncryption"), name
        block = res["Properties"].get("PublicAccessBlockConfiguration", {})
        assert all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                                   "RestrictPublicBuckets")), name
    for name, res in resources_of(translation, "AWS::SQS::Queue").items():
        props = res["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), name
    for name, res in resources_of(translation, "AWS::Kinesis::Stream").items():
        assert res["Properties"].get("StreamEncryption"), name


def test_every_consumer_queue_has_a_dead_letter_queue(translation):
    queues = resources_of(translation, "AWS::SQS::Queue")
    dead_letter_targets = set()
    for res in queues.values():
        redrive = res["Properties"].get("RedrivePolicy")
        if redrive:
            assert int(redrive["maxReceiveCount"]) >= 1
            dead_letter_targets.add(redrive["deadLetterTargetArn"]["Fn::GetAtt"][0])
    # NHL (issue 5): a queue that is a stream event source's on-failure destination is a dead-letter
    # queue too (Lambda sends it the metadata of batches whose retries are spent).
    for mapping in resources_of(translation, "AWS::Lambda::EventSourceMapping").values():
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if isinstance(destination, dict) and "Fn::GetAtt" in destination:
            dead_letter_targets.add(destination["Fn::GetAtt"][0])
    # A stream's on-failure destination is a dead-letter queue of its own kind.
    for res in resources_of(translation, "AWS::Lambda::EventSourceMapping").values():
        destination = res["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if isinstance(destination, dict) and "Fn::GetAtt" in destination:
            dead_letter_targets.add(destination["Fn::GetAtt"][0])
    # An EventBridge rule target's DeadLetterConfig queue (issue 14) is a dead-letter queue too.
    for rule in resources_of(translation, "AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            dead_letter_targets.add(target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0])
    for name, res in queues.items():
        if name not in dead_letter_targets:
            assert res["Properties"].get("RedrivePolicy"), f"{name} is neither a DLQ nor has one"


def test_queue_policies_admit_only_their_rules(translation):
    for name, res in resources_of(translation, "AWS::SQS::QueuePolicy").items():
        for statement in res["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}, name
            assert "aws:SourceArn" in statement["Condition"]["ArnEquals"], name
