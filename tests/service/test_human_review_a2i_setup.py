"""The stack's A2I custom resource (`Custom::A2iFlowDefinition`, issue 14 item 1): its function,
`human_review.handlers.a2i_setup_handler`, against the A2I emulator's SageMaker control plane.

CloudFormation's side is played by a loopback server that records the answer PUT to ResponseURL.
Create makes the human task UI and the flow definition; the stack's loops then run on it. Update
with changed properties makes a new pair (new physical id), and Delete of the old id removes only
the old pair, as CloudFormation's replace-then-delete does. Failures are answered FAILED with the
reason, and nothing is left behind.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.provision import load_template
from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, REGION

review_env = human_review_env.review_env
ROOT = Path(__file__).resolve().parents[2]
UI_FILE = ROOT / "services" / "human_review" / "worker_templates" / "review.liquid.html"
WORK_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pitwall"
ROLE = "arn:aws:iam::123456789012:role/pitwall-a2i"
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/pitwall/1"


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class CloudFormation:
    """The ResponseURL side: every answer PUT, by request id."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _app(self, environ, start_response):
        request = Request(environ)
        assert request.method == "PUT" and request.headers.get("Content-Type", "") == ""
        self.answers[request.path.rsplit("/", 1)[-1]] = json.loads(request.get_data())
        return Response("")(environ, start_response)

    def send(self, request_type: str, properties: dict[str, Any], physical_id: str | None = None,
             old: dict[str, Any] | None = None) -> dict[str, Any]:
        from human_review.handlers import a2i_setup_handler

        request_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "RequestType": request_type, "ResponseURL": f"{self.url}/responses/{request_id}", "StackId": STACK,
            "RequestId": request_id, "ResourceType": "Custom::A2iFlowDefinition",
            "LogicalResourceId": "ReviewFlowDefinition",
            "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:setup"} | properties,
        }
        if physical_id is not None:
            event["PhysicalResourceId"] = physical_id
        if old is not None:
            event["OldResourceProperties"] = old
        assert a2i_setup_handler(event, Context()) is None
        return self.answers.pop(request_id)


@pytest.fixture
def cfn(review_env, monkeypatch):
    from pitwall_shared.aws import client

    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", review_env.a2i_url)
    client.cache_clear()
    review_env.a2i.require_flow_definition = True  # a loop on a flow definition that is not there fails
    cloudformation = CloudFormation()
    yield cloudformation
    cloudformation.server.shutdown()
    client.cache_clear()


def template_properties() -> dict[str, Any]:
    """The properties template.yaml gives the resource, with this test's work team, role and bucket."""
    props = dict(load_template(ROOT / "template.yaml")["Resources"]["ReviewFlowDefinition"]["Properties"])
    props.pop("ServiceToken")
    # CloudFormation sends every scalar as a string.
    return {key: str(value) for key, value in props.items()} | {
        "NamePrefix": "pitwall-test-review", "WorkteamArn": WORK_TEAM, "RoleArn": ROLE,
        "OutputPath": f"s3://{BUCKET}/a2i-output"}


def test_the_template_names_the_worker_template_by_its_digest():
    props = template_properties()
    assert (ROOT / "services" / "human_review" / props["UiTemplate"]) == UI_FILE
    assert props["UiTemplateSha256"] == hashlib.sha256(UI_FILE.read_bytes()).hexdigest()


def test_create_makes_the_ui_and_flow_definition_that_loops_then_run_on(cfn, review_env):
    answer = cfn.send("Create", template_properties())
    assert answer["Status"] == "SUCCESS", answer.get("Reason")
    arn = answer["PhysicalResourceId"]
    name = arn.rsplit("/", 1)[-1]
    assert arn == answer["Data"]["Arn"] and name == answer["Data"]["Name"]
    assert name.startswith("pitwall-test-review-")
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    flow = sagemaker.describe_flow_definition(FlowDefinitionName=name)
    assert flow["FlowDefinitionStatus"] == "Active" and flow["RoleArn"] == ROLE
    assert flow["OutputConfig"]["S3OutputPath"] == f"s3://{BUCKET}/a2i-output"
    config = flow["HumanLoopConfig"]
    assert config["WorkteamArn"] == WORK_TEAM and config["HumanTaskUiArn"] == answer["Data"]["HumanTaskUiArn"]
    assert (config["TaskCount"], config["TaskTimeLimitInSeconds"]) == (1, 3600)
    ui = sagemaker.describe_human_task_ui(HumanTaskUiName=config["HumanTaskUiArn"].rsplit("/", 1)[-1])
    assert ui["UiTemplate"]["ContentSha256"] == hashlib.sha256(UI_FILE.read_bytes()).hexdigest()

    # A loop on the new flow definition is accepted, and its answer lands under the OutputPath.
    a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
    a2i.start_human_loop(HumanLoopName="loop-on-stack-flow", FlowDefinitionArn=arn,
                         HumanLoopInput={"InputContent": json.dumps({"taskType": "classification"})})
    review_env.a2i.answer("loop-on-stack-flow", {"label": "yes"})
    output = a2i.describe_human_loop(HumanLoopName="loop-on-stack-flow")["HumanLoopOutput"]["OutputS3Uri"]
    assert output.startswith(f"s3://{BUCKET}/a2i-output/{name}/")


def test_a_retried_create_finds_its_own_objects(cfn, review_env):
    first = cfn.send("Create", template_properties())
    again = cfn.send("Create", template_properties())
    assert again["Status"] == "SUCCESS" and again["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert len(review_env.a2i.created_flow_definitions) == 1 and len(review_env.a2i.human_task_uis) == 1


def test_update_makes_a_new_pair_and_delete_of_the_old_id_removes_only_the_old(cfn, review_env):
    old_props = template_properties()
    old = cfn.send("Create", old_props)["PhysicalResourceId"]
    new_props = old_props | {"TaskTitle": "Check this prediction"}
    updated = cfn.send("Update", new_props, physical_id=old, old=old_props)
    assert updated["Status"] == "SUCCESS", updated.get("Reason")
    new = updated["PhysicalResourceId"]
    assert new != old  # CloudFormation sees a replacement and deletes the old id afterwards
    assert set(review_env.a2i.created_flow_definitions) == {old.rsplit("/", 1)[-1], new.rsplit("/", 1)[-1]}

    deleted = cfn.send("Delete", old_props, physical_id=old)
    assert deleted["Status"] == "SUCCESS" and deleted["PhysicalResourceId"] == old
    assert set(review_env.a2i.created_flow_definitions) == {new.rsplit("/", 1)[-1]}
    assert set(review_env.a2i.human_task_uis) == {new.rsplit("/", 1)[-1]}
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    assert sagemaker.describe_flow_definition(FlowDefinitionName=new.rsplit("/", 1)[-1])["HumanLoopConfig"][
        "TaskTitle"] == "Check this prediction"


def test_delete_of_the_stack_removes_both_and_a_repeated_delete_succeeds(cfn, review_env):
    props = template_properties()
    arn = cfn.send("Create", props)["PhysicalResourceId"]
    assert cfn.send("Delete", props, physical_id=arn)["Status"] == "SUCCESS"
    assert review_env.a2i.created_flow_definitions == {} and review_env.a2i.human_task_uis == {}
    assert cfn.send("Delete", props, physical_id=arn)["Status"] == "SUCCESS"  # already gone: done


@pytest.mark.parametrize(("change", "reason"), [
    ({"WorkteamArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/x"}, "WorkteamArn"),
    ({"TaskCount": "4"}, "TaskCount"),
    ({"Unexpected": "x"}, "Unexpected"),
    ({"UiTemplateSha256": "0" * 64}, "set UiTemplateSha256 in template.yaml"),
    ({"UiTemplate": "../handlers.py"}, "UiTemplate"),
])
def test_bad_properties_fail_the_create_with_the_reason_and_create_nothing(cfn, review_env, change, reason):
    answer = cfn.send("Create", template_properties() | change)
    assert answer["Status"] == "FAILED" and reason in answer["Reason"]
    assert answer["PhysicalResourceId"] == "not-created-ReviewFlowDefinition"
    assert review_env.a2i.created_flow_definitions == {} and review_env.a2i.human_task_uis == {}
    # CloudFormation then deletes the failed resource by that id: nothing to do, and no call fails.
    assert cfn.send("Delete", template_properties() | change,
                    physical_id=answer["PhysicalResourceId"])["Status"] == "SUCCESS"


def test_a_sagemaker_refusal_is_answered_failed_not_left_waiting(cfn, review_env):
    # The emulator checks requests against botocore's SageMaker model: a role that is not an IAM role ARN.
    props = template_properties() | {"RoleArn": "arn:aws:iam::123456789012:role/" + "r" * 2048}
    answer = cfn.send("Create", props)
    assert answer["Status"] == "FAILED" and "RoleArn" in answer["Reason"]
    # The human task UI made before the refusal is removed: a failed Create leaves nothing behind.
    assert review_env.a2i.created_flow_definitions == {} and review_env.a2i.human_task_uis == {}
