"""The A2I flow definition and human task UI the stack creates (issue 14): pure request building.

CloudFormation has no resource type for either, so `Custom::A2iFlowDefinition` in template.yaml
hands its properties to `handlers.a2i_setup_handler`, which validates them here, builds the
SageMaker requests and leaves the calls to `adapters.a2i_setup`.

Both objects are immutable in SageMaker (no Update API), so their names end in a digest of the
properties (worker template included): a change makes new names, CloudFormation gets a new physical
id and deletes the old pair afterwards; the same properties give the same names (a retried Create
finds its own objects).

>>> props = FlowProperties.model_validate(EXAMPLE)
>>> flow_name(props).startswith("pitwall-dev-review-") and len(flow_name(props)) == 30
True
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pitwall_shared.inputs import problems_of

# Name rules and limits: SageMaker API reference, CreateFlowDefinition / CreateHumanTaskUi /
# HumanLoopConfig (FlowDefinitionName and HumanTaskUiName: ^[a-z0-9](-*[a-z0-9])*$, 1-63;
# TaskTitle 1-128; TaskDescription 1-255; TaskCount 1-3; TaskAvailabilityLifetimeInSeconds
# 60-864000; TaskTimeLimitInSeconds 30-28800; UiTemplate.Content up to 128000 characters).
NAME = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
MAX_NAME = 63
DIGEST_CHARS = 10
MAX_UI_TEMPLATE_CHARS = 128_000
FLOW_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:flow-definition/[a-z0-9](-*[a-z0-9])*$"
WORKTEAM_ARN = r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:workteam/.+$"
ROLE_ARN = r"^arn:aws[a-z\-]*:iam::[0-9]{12}:role/.+$"
EXAMPLE = {
    "NamePrefix": "pitwall-dev-review", "WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t",
    "RoleArn": "arn:aws:iam::123456789012:role/a2i", "OutputPath": "s3://bucket/a2i-output",
    "UiTemplate": "worker_templates/review.liquid.html", "UiTemplateSha256": "0" * 64,
    "TaskTitle": "Check", "TaskDescription": "Check a prediction",
}


class SetupError(ValueError):
    """Properties CloudFormation passed that cannot make a flow definition (the reason is the message)."""


class FlowProperties(BaseModel):
    """`ResourceProperties` of the custom resource (CloudFormation sends numbers as strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    NamePrefix: str = Field(max_length=MAX_NAME - DIGEST_CHARS - 1, pattern=NAME.pattern)
    WorkteamArn: str = Field(pattern=WORKTEAM_ARN)
    RoleArn: str = Field(pattern=ROLE_ARN)
    OutputPath: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$")
    KmsKeyId: str | None = Field(default=None, min_length=1, max_length=2048)
    UiTemplate: str = Field(pattern=r"^worker_templates/[A-Za-z0-9_.\-]+$")
    UiTemplateSha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    TaskTitle: str = Field(min_length=1, max_length=128)
    TaskDescription: str = Field(min_length=1, max_length=255)
    TaskCount: int = Field(default=1, ge=1, le=3)
    TaskAvailabilityLifetimeInSeconds: int = Field(default=86_400, ge=60, le=864_000)
    TaskTimeLimitInSeconds: int = Field(default=3_600, ge=30, le=28_800)


def parse_properties(resource_properties: dict[str, Any]) -> FlowProperties:
    """Validate CloudFormation's `ResourceProperties` (its `ServiceToken` aside)."""
    given = {key: value for key, value in resource_properties.items() if key != "ServiceToken"}
    try:
        return FlowProperties.model_validate(given)
    except ValidationError as error:
        problems = "; ".join(f"{problem.field}: {problem.reason}"
                             for problem in problems_of(error, dotted=True, root="<root>"))  # no values
        raise SetupError(f"invalid properties: {problems}") from None


def check_ui_template(props: FlowProperties, content: str) -> None:
    """The worker template shipped with the function must be the one the properties name."""
    digest = hashlib.sha256(content.encode()).hexdigest()
    if digest != props.UiTemplateSha256:
        raise SetupError(f"{props.UiTemplate} has sha256 {digest}, the template says {props.UiTemplateSha256}: "
                         "set UiTemplateSha256 in template.yaml to the file's digest")
    if not 1 <= len(content) <= MAX_UI_TEMPLATE_CHARS:
        raise SetupError(f"{props.UiTemplate} is {len(content)} characters; A2I takes 1-{MAX_UI_TEMPLATE_CHARS}")


def flow_name(props: FlowProperties) -> str:
    """`<prefix>-<digest of every property>`: the name of both the flow definition and its UI."""
    canonical = json.dumps(props.model_dump(), sort_keys=True, separators=(",", ":"))
    return f"{props.NamePrefix}-{hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_CHARS]}"


def human_task_ui_request(props: FlowProperties, content: str) -> dict[str, Any]:
    return {"HumanTaskUiName": flow_name(props), "UiTemplate": {"Content": content}}


def flow_definition_request(props: FlowProperties, human_task_ui_arn: str) -> dict[str, Any]:
    output: dict[str, Any] = {"S3OutputPath": props.OutputPath}
    if props.KmsKeyId:
        output["KmsKeyId"] = props.KmsKeyId
    return {
        "FlowDefinitionName": flow_name(props),
        "HumanLoopConfig": {
            "WorkteamArn": props.WorkteamArn, "HumanTaskUiArn": human_task_ui_arn,
            "TaskTitle": props.TaskTitle, "TaskDescription": props.TaskDescription, "TaskCount": props.TaskCount,
            "TaskAvailabilityLifetimeInSeconds": props.TaskAvailabilityLifetimeInSeconds,
            "TaskTimeLimitInSeconds": props.TaskTimeLimitInSeconds,
        },
        "OutputConfig": output,
        "RoleArn": props.RoleArn,
    }


def is_flow_definition_arn(physical_id: str | None) -> bool:
    """True for an id this resource returned (a failed Create leaves another, which Delete skips)."""
    return bool(physical_id) and re.match(FLOW_ARN, physical_id or "") is not None


def response(event: dict[str, Any], *, status: str, physical_id: str, reason: str = "",
             data: dict[str, str] | None = None) -> dict[str, Any]:
    """The body CloudFormation expects at the event's ResponseURL."""
    body: dict[str, Any] = {
        "Status": status, "PhysicalResourceId": physical_id, "StackId": event["StackId"],
        "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "NoEcho": False,
        "Data": dict(data or {}),
    }
    if reason:
        body["Reason"] = reason[:1000]
    return body
