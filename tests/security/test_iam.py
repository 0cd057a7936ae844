"""IAM least privilege (issue 8, security 2): every function's policy, read from the translated
template, equals its checked-in allow-list (tests/security/iam_allowlist.json: a reviewed diff is
needed to widen a grant), has no wildcard action, names its resources (except the Comprehend PII
actions, which have no resource-level permissions), and grants nothing the function's code never
calls."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from local.provision import LOCAL_PARAMETERS, translate
from tests.security.iam_policies import ALLOWLIST, ROOT, function_grants

# Actions a function holds without calling them from its code, and why.
NOT_CALLED_FROM_CODE = {
    ("NhlTrackingFunction", "sqs:SendMessage"): "Lambda itself sends the on-failure record with the function's role",
    ("OutboxSweeperFunction", "sqs:SendMessage"): "Lambda itself sends a failed async invocation to its DeadLetterQueue",
    ("ReviewA2iSetupFunction", "iam:PassRole"): "CreateFlowDefinition passes the A2I execution role (RoleArn)",
}
# Actions whose resource cannot be narrowed (Comprehend API reference: no resource-level permissions).
RESOURCE_STAR_ALLOWED = {"comprehend:ContainsPiiEntities", "comprehend:DetectPiiEntities"}
# Managed policies SAM attaches: basic logging and X-Ray to all; the poller policies to event-source functions.
MANAGED_ALLOWED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole",
}
# A transaction is authorised per item as the item's own action (DynamoDB developer guide).
CALLS_FOR_ACTION = {
    "dynamodb:PutItem": ("put_item", "transact_write_items", "batch_write_item"),
    "dynamodb:UpdateItem": ("update_item", "transact_write_items"),
}


@cache
def _translation():
    return translate(ROOT / "template.yaml", LOCAL_PARAMETERS)  # review on: every function


@cache
def _grants():
    return function_grants(_translation().cfn)


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action.split(":", 1)[1]).lower()


@cache
def _calls(code_dir: Path) -> frozenset[str]:
    names: set[str] = set()
    for folder in (code_dir, ROOT / "shared"):
        for source in folder.rglob("*.py"):
            names |= set(re.findall(r"\.(\w+)\(", source.read_text()))
    return frozenset(names)


def test_every_function_matches_its_allowlist():
    assert _grants() == json.loads(ALLOWLIST.read_text()), (
        "a function's IAM changed; review it, then regenerate: .venv/bin/python -m tests.security.iam_policies "
        "> tests/security/iam_allowlist.json")


@pytest.mark.parametrize("function", sorted(json.loads(ALLOWLIST.read_text())))
def test_no_wildcards_and_only_known_managed_policies(function):
    grants = _grants()[function]
    assert set(grants["managed_policies"]) <= MANAGED_ALLOWED
    for grant in grants["grants"]:
        assert grant["effect"] == "Allow"
        for action in grant["actions"]:
            assert "*" not in action, f"{function}: wildcard action {action}"
        if "*" in grant["resources"]:
            assert set(grant["actions"]) <= RESOURCE_STAR_ALLOWED, f"{function}: Resource * for {grant['actions']}"


@pytest.mark.parametrize("function", sorted(json.loads(ALLOWLIST.read_text())))
def test_every_granted_action_is_called_by_the_function_code(function):
    calls = _calls(_translation().code_dirs[function])
    unused = []
    for grant in _grants()[function]["grants"]:
        for action in grant["actions"]:
            if (function, action) in NOT_CALLED_FROM_CODE:
                continue
            if not set(CALLS_FOR_ACTION.get(action, (_snake(action),))) & calls:
                unused.append(action)
    assert not unused, f"{function} is granted actions its code never calls: {unused}"
