"""Issue 16 item 6 in the template: ReviewCandidate only from the sources the stack lists (the rule
matches them, the trigger is told them), task objects only from the buckets it lists (A2I's role may
read there, the trigger is told them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.provision import translate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
WORK_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pitwall"


@pytest.fixture(scope="module")
def resources():
    return translate(TEMPLATE, {"WorkTeamArn": WORK_TEAM}).cfn["Resources"]


def test_candidate_rule_matches_only_the_listed_sources(resources):
    pattern = resources["ReviewCandidateRule"]["Properties"]["EventPattern"]
    assert pattern["source"] == {"Fn::Split": [",", {"Ref": "ReviewCandidateSources"}]}
    assert pattern["detail-type"] == ["ReviewCandidate"]


def test_trigger_is_told_the_listed_sources_and_buckets(resources):
    env = resources["ReviewTriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["REVIEW_CANDIDATE_SOURCES"] == {"Ref": "ReviewCandidateSources"}
    assert env["TASK_OBJECT_BUCKETS"] == {"Ref": "ReviewTaskObjectBuckets"}


def test_a2i_may_read_task_objects_only_in_its_tasks_prefix_and_the_listed_buckets(resources):
    statements = resources["ReviewA2iExecutionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    reads = []
    for statement in statements:
        if "Fn::If" in statement:
            condition, statement, otherwise = statement["Fn::If"]
            assert condition == "HasReviewTaskObjectBuckets" and otherwise == {"Ref": "AWS::NoValue"}
        if statement["Action"] == "s3:GetObject":
            reads.append(statement["Resource"])
    assert {"Fn::Sub": "${ReviewManifestsBucket.Arn}/tasks/*"} in reads
    assert {"Fn::Sub": "${PiiRawBucket.Arn}/pii-review/*.json"} in reads  # PiiReviewCandidate tasks (issue 19)
    (listed,) = [r for r in reads if "Fn::Split" in r]
    assert "ReviewTaskObjectBuckets" in str(listed)
    assert len(reads) == 3
