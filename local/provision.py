"""Provisioning: `template.yaml` → CloudFormation (SAM translated offline) → a stack in moto.

The same template that deploys to AWS creates the local resources, under the template's own
logical names; nothing is created from a second, hand-written list. Only what moto cannot take is
adapted: function and layer code point at a placeholder object in the local S3, because moto only
stores code and the runner executes it from the source folders instead.
"""

from __future__ import annotations

import copy
import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

CODE_BUCKET = "pitwall-local-code"
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
# Parameters the local cloud deploys with unless told otherwise: a work team, so that human review
# (a Condition on WorkTeamArn) is on and the stack creates its A2I flow definition in the emulator.
LOCAL_WORK_TEAM_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:workteam/private-crowd/pitwall-local"
# The frames bucket the local demos and tests put ReviewCandidate task objects in (issue 16 item 6).
LOCAL_TASK_OBJECT_BUCKET = "pitwall-local-frames"
LOCAL_PARAMETERS = {"WorkTeamArn": LOCAL_WORK_TEAM_ARN, "ReviewTaskObjectBuckets": LOCAL_TASK_OBJECT_BUCKET}


@dataclass
class Translation:
    """A SAM template translated to CloudFormation, with each function's and layer's source folder."""

    sam: dict[str, Any]
    cfn: dict[str, Any]
    code_dirs: dict[str, Path] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)  # stack parameters given (others: defaults)


def load_template(path: Path) -> dict[str, Any]:
    """Parse a SAM/CloudFormation YAML template (short-form intrinsics such as !Ref included)."""
    return yaml_parse(path.read_text())  # type: ignore[no-any-return]


def managed_policy_map() -> dict[str, str]:
    """The AWS managed-policy names → ARNs that aws-sam-translator bundles, so no IAM call is made."""
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

    return dict(get_bundled_managed_policy_map("aws"))


def translate(template_path: Path, parameters: dict[str, str] | None = None) -> Translation:
    """Translate `template_path` offline; code URIs become placeholders recorded in `code_dirs`."""
    sam = load_template(template_path)
    work = copy.deepcopy(sam)
    base = template_path.parent
    code_dirs: dict[str, Path] = {}
    global_code = work.get("Globals", {}).get("Function", {}).get("CodeUri")
    for logical_id, resource in work.get("Resources", {}).items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            uri = props.get("CodeUri", global_code)
            if isinstance(uri, str) and not uri.startswith("s3://"):
                code_dirs[logical_id] = (base / uri).resolve()
                props["CodeUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            uri = props.get("ContentUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                code_dirs[logical_id] = (base / uri).resolve()
                props["ContentUri"] = f"s3://{CODE_BUCKET}/{logical_id}.zip"
    if global_code is not None:
        work["Globals"]["Function"].pop("CodeUri")
    policies = managed_policy_map()
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local")  # noqa: S106 - offline, never sent
    cfn = Translator(None, Parser(), boto_session=session).translate(
        work, parameter_values=dict(parameters or {}), get_managed_policy_map=lambda: policies
    )
    declared = cfn.get("Parameters", {})
    given = {name: str(value) for name, value in (parameters or {}).items() if name in declared}
    return Translation(sam=sam, cfn=resolve_includes(cfn, base), code_dirs=code_dirs, parameters=given)


def resolve_includes(node: Any, base: Path) -> Any:
    """Replace each `Fn::Transform: AWS::Include` of a local file with the file's content.

    CloudFormation runs AWS::Include after the SAM transform (SAM passes it through untouched), and
    `sam deploy` uploads a local Location first; here the file is read in place, as the deployed
    stack would see it. An S3 Location is left as it is.
    """
    if isinstance(node, list):
        return [resolve_includes(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    transform = node.get("Fn::Transform")
    if len(node) == 1 and isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
        location = (transform.get("Parameters") or {}).get("Location")
        if isinstance(location, str) and not location.startswith("s3://"):
            return resolve_includes(load_template(base / location), base)
    return {key: resolve_includes(value, base) for key, value in node.items()}


# Resource types moto's CloudFormation has no model for, and who plays their part locally.
PLAYED_LOCALLY = {
    "AWS::ApiGateway::RestApi": "local API gateway (local/runner/sources/api_gateway.py)",
    "AWS::ApiGateway::Account": "local API gateway (its access logs are not written locally)",
    "AWS::ApiGateway::Deployment": "local API gateway",
    "AWS::ApiGateway::Stage": "local API gateway",
    "AWS::ApiGateway::ApiKey": "local API gateway (no authentication on loopback)",
    "AWS::ApiGateway::UsagePlan": "local API gateway",
    "AWS::ApiGateway::UsagePlanKey": "local API gateway",
    "AWS::Lambda::Permission": "the runner invokes functions directly",
    "AWS::Lambda::EventInvokeConfig": "no moto CloudFormation model; the local schedule invokes once per tick (runner/sources/schedule.py)",
    "AWS::KinesisFirehose::DeliveryStream": "Firehose emulator (local/emulators/firehose.py)",
    "AWS::SQS::QueuePolicy": "not enforced by moto; tests/template checks each statement instead",
    "AWS::CloudWatch::Alarm": "no moto CloudFormation model and nothing evaluates alarms locally; tests/template checks each",
    "AWS::S3::BucketPolicy": "no moto CloudFormation model (pii_redaction); tests/template checks its statements",
}


def adapt_for_moto(cfn: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `cfn` that moto's CloudFormation accepts.

    moto has no model for some types (it would skip them and break references), so those are
    removed here and the runner plays their part: API Gateway (the local gateway serves the same
    routes), Lambda permissions and the API's deployment and stage.
    """
    adapted = copy.deepcopy(cfn)
    dropped = set(PLAYED_LOCALLY)
    resources = adapted["Resources"]
    removed = {name for name, res in resources.items() if res["Type"] in dropped}
    for name in removed:
        del resources[name]
    # Outputs or DependsOn naming a removed resource would fail the stack.
    for res in resources.values():
        depends = res.get("DependsOn")
        if isinstance(depends, list):
            res["DependsOn"] = [d for d in depends if d not in removed]
        elif isinstance(depends, str) and depends in removed:
            del res["DependsOn"]
    outputs = adapted.get("Outputs", {})
    for name in [n for n, out in outputs.items() if _mentions(out, removed)]:
        del outputs[name]
    return adapted


def _mentions(node: Any, names: set[str]) -> bool:
    text = json.dumps(node)
    return any(f'"{name}"' in text or f"${{{name}" in text or f'"{name}.' in text for name in names)


def placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "Code runs from the source folder in the local cloud.\n")
    return buffer.getvalue()


def deploy(translation: Translation, *, stack_name: str, cloudformation: Any, s3: Any,
           timeout_s: float = 120) -> dict[str, str]:
    """Create the stack in moto and return {logical id: physical id} of every resource."""
    s3.create_bucket(Bucket=CODE_BUCKET)
    body = placeholder_zip()
    for logical_id in translation.code_dirs:
        s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical_id}.zip", Body=body)
    template = adapt_for_moto(translation.cfn)
    cloudformation.create_stack(
        StackName=stack_name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        Parameters=[{"ParameterKey": name, "ParameterValue": value} for name, value in translation.parameters.items()],
    )
    deadline = time.monotonic() + timeout_s
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = stack["StackStatus"]
        if status == "CREATE_COMPLETE":
            break
        if status.endswith("FAILED") or status.startswith("ROLLBACK") or time.monotonic() > deadline:
            reason = stack.get("StackStatusReason", status)
            raise RuntimeError(f"local stack {stack_name} did not deploy: {reason}")
        time.sleep(0.2)
    resources = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    # moto lists an empty placeholder for every resource it could not model; none should remain.
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"]}
