"""A2I created by the stack (issue 14 item 1), on the template translated offline as CloudFormation
receives it: given a work team, the flow-definition custom resource, its setup function, the human
task UI (from services/human_review/worker_templates/) and A2I's execution role are there and wired
to the `WorkTeamArn` parameter; without one, review is off by a Condition, and no placeholder ARN
can deploy a stack whose every loop fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local.provision import load_template, translate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
WORK_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pitwall"
REVIEW_FUNCTIONS = {"ReviewTriggerFunction", "ReviewCompletionFunction", "ReviewA2iSetupFunction"}


@pytest.fixture(scope="module")
def on():
    return translate(TEMPLATE, {"WorkTeamArn": WORK_TEAM}).cfn


@pytest.fixture(scope="module")
def off():
    return translate(TEMPLATE).cfn  # the defaults: no work team


def refs(node):
    """Logical ids `node` refers to (Ref, GetAtt, ${Name} / ${Name.Attr} in Sub)."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([A-Za-z0-9.]+)\}", text)}
                if isinstance(value, list):
                    found |= refs(value[1])
            else:
                found |= refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs(item)
    return found


def test_the_work_team_parameter_has_no_placeholder_and_takes_only_work_team_arns():
    parameter = load_template(TEMPLATE)["Parameters"]["WorkTeamArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(WORK_TEAM) and pattern.fullmatch("")
    # The old default (a flow definition of account 123456789012) no longer passes.
    assert not pattern.fullmatch("arn:aws:sagemaker:us-east-1:123456789012:flow-definition/pitwall-review")
    assert "ReviewFlowDefinitionArn" not in load_template(TEMPLATE)["Parameters"]


def test_the_flow_definition_is_a_custom_resource_of_the_setup_function_wired_to_the_work_team(on):
    resources = on["Resources"]
    flow = resources["ReviewFlowDefinition"]
    assert flow["Type"] == "Custom::A2iFlowDefinition" and flow["Condition"] == "ReviewEnabled"
    props = flow["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["ReviewA2iSetupFunction", "Arn"]}
    assert props["WorkteamArn"] == {"Ref": "WorkTeamArn"}
    assert props["RoleArn"] == {"Fn::GetAtt": ["ReviewA2iExecutionRole", "Arn"]}
    assert props["OutputPath"] == {"Fn::Sub": "s3://${ReviewManifestsBucket}/a2i-output"}
    setup = resources["ReviewA2iSetupFunction"]["Properties"]
    assert setup["Handler"] == "human_review.handlers.a2i_setup_handler"
    # The human task UI is the worker template the setup function ships (its CodeUri's file).
    code_dir = ROOT / load_template(TEMPLATE)["Resources"]["ReviewA2iSetupFunction"]["Properties"]["CodeUri"]
    assert (code_dir / props["UiTemplate"]) == ROOT / "services/human_review/worker_templates/review.liquid.html"
    # Its names fall inside what the setup function may create and delete.
    assert props["NamePrefix"] == {"Fn::Sub": "pitwall-${Stage}-review"}
    statements = json.dumps(resources[setup["Role"]["Fn::GetAtt"][0]]["Properties"]["Policies"])
    assert "flow-definition/pitwall-${Stage}-review-*" in statements
    assert "human-task-ui/pitwall-${Stage}-review-*" in statements


def test_a2i_runs_loops_with_its_own_role_that_reads_tasks_and_writes_answers_only(on):
    role = on["Resources"]["ReviewA2iExecutionRole"]
    assert role["Condition"] == "ReviewEnabled"
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    [policy] = role["Properties"]["Policies"]
    # Task objects in the buckets the stack lists (issue 16 item 6) are tests/template/test_review_origins_template.py's.
    grants = {(s["Action"], json.dumps(s["Resource"])) for s in policy["PolicyDocument"]["Statement"] if "Fn::If" not in s}
    assert grants == {("s3:GetObject", json.dumps({"Fn::Sub": "${ReviewManifestsBucket.Arn}/tasks/*"})),
                      ("s3:PutObject", json.dumps({"Fn::Sub": "${ReviewManifestsBucket.Arn}/a2i-output/*"})),
                      # PII review (issue 19): its task objects, where pii_redaction wrote them
                      ("s3:GetObject", json.dumps({"Fn::Sub": "${PiiRawBucket.Arn}/pii-review/*.json"}))}


def test_the_trigger_starts_loops_on_the_stacks_flow_definition_only(on):
    trigger = on["Resources"]["ReviewTriggerFunction"]["Properties"]
    flow = {"Fn::GetAtt": ["ReviewFlowDefinition", "Arn"]}
    assert trigger["Environment"]["Variables"]["DEFAULT_FLOW_DEFINITION_ARN"] == flow
    role = on["Resources"][trigger["Role"]["Fn::GetAtt"][0]]["Properties"]
    starts = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]
              if "sagemaker:StartHumanLoop" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in starts] == [flow]


def test_without_a_work_team_review_is_off_and_nothing_refers_to_what_is_not_created(on, off):
    conditional = {name for name, res in on["Resources"].items() if res.get("Condition") == "ReviewEnabled"}
    assert REVIEW_FUNCTIONS | {"ReviewFlowDefinition", "ReviewA2iExecutionRole", "ReviewPredictionsRule",
                               "ReviewCandidateRule"} <= conditional
    assert on["Conditions"]["ReviewEnabled"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WorkTeamArn"}, ""]}]}
    # Every resource that refers to a review-only resource is itself review-only (or uses Fn::If).
    for name, res in on["Resources"].items():
        if res.get("Condition") == "ReviewEnabled":
            continue
        plain = refs({k: v for k, v in res.items() if k != "Condition"}) & conditional
        assert not plain or "Fn::If" in json.dumps(res), f"{name} refers to {plain}, absent without a work team"
    for name, output in on.get("Outputs", {}).items():
        plain = refs({k: v for k, v in output.items() if k != "Condition"}) & conditional
        assert not plain or output.get("Condition") == "ReviewEnabled", f"output {name} refers to {plain}"
    assert set(off["Resources"]) == set(on["Resources"])  # the same template; the Condition decides
