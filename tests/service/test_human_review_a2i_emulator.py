"""The local A2I runtime emulator, driven by boto3 through AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, FLOW, REGION

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests
OTHER_FLOW = "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/other"


@pytest.fixture
def a2i(review_env):
    return boto3.client("sagemaker-a2i-runtime", region_name=REGION)


def start(a2i, name, flow=FLOW, content=None, **extra):
    return a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=flow,
                                HumanLoopInput={"InputContent": json.dumps(content or {"taskType": "classification"})},
                                **extra)


def error_code(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def http(url, method="GET", body=None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local emulator
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_endpoint_variable_routes_boto3_to_the_emulator(review_env, a2i):
    assert a2i.meta.endpoint_url == review_env.a2i_url


def test_start_and_describe_have_a2i_shapes(review_env, a2i):
    arn = start(a2i, "loop-1", DataAttributes={"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]})
    assert arn["HumanLoopArn"] == "arn:aws:sagemaker:us-east-1:123456789012:human-loop/loop-1"
    described = a2i.describe_human_loop(HumanLoopName="loop-1")
    assert described["HumanLoopStatus"] == "InProgress" and described["FlowDefinitionArn"] == FLOW
    assert isinstance(described["CreationTime"], datetime) and "HumanLoopOutput" not in described
    assert review_env.a2i.loops["loop-1"].content_classifiers == ["FreeOfPersonallyIdentifiableInformation"]


@pytest.mark.parametrize("name", ["Upper", "under_score", "trailing-", "-leading", "x" * 64])
def test_names_outside_the_rules_are_validation_errors(a2i, name):
    assert error_code(lambda: start(a2i, name)) == ("ValidationException", 400)


def test_other_validation_errors(review_env, a2i):
    assert error_code(lambda: start(a2i, "ok", flow="arn:aws:sagemaker:us-east-1:1:flow-definition/x"))[0] == \
        "ValidationException"
    too_big = a2i.start_human_loop  # the limit is the service's, so send it past botocore unvalidated
    assert error_code(lambda: too_big(HumanLoopName="big", FlowDefinitionArn=FLOW,
                                      HumanLoopInput={"InputContent": '"' + "x" * 3_145_728 + '"'}))[0] == \
        "ValidationException"
    assert error_code(lambda: a2i.start_human_loop(HumanLoopName="notjson", FlowDefinitionArn=FLOW,
                                                   HumanLoopInput={"InputContent": "not json"}))[0] == \
        "ValidationException"
    status, headers, body = http(f"{review_env.a2i_url}/human-loops", "POST",
                                 {"HumanLoopName": "c", "FlowDefinitionArn": FLOW, "HumanLoopInput": {"InputContent": "{}"},
                                  "DataAttributes": {"ContentClassifiers": ["FreeOfEverything"]}})
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException"
    assert review_env.a2i.loops == {}


def test_a_name_in_use_is_a_conflict(a2i):
    start(a2i, "twice")
    assert error_code(lambda: start(a2i, "twice")) == ("ConflictException", 409)


def test_throttling_is_injected_on_demand(review_env):
    from botocore.config import Config

    fast = boto3.client("sagemaker-a2i-runtime", region_name=REGION, config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    review_env.a2i.throttle_next(1)
    assert error_code(lambda: start(fast, "t")) == ("ThrottlingException", 429)
    start(fast, "t")


def test_describe_unknown_is_resource_not_found(a2i):
    assert error_code(lambda: a2i.describe_human_loop(HumanLoopName="ghost")) == ("ResourceNotFoundException", 404)


def test_list_filters_sorts_and_pages(review_env, a2i):
    clock = iter(datetime(2026, 11, 22, 10, 0, tzinfo=UTC) + timedelta(minutes=i) for i in range(10))
    review_env.a2i.clock = lambda: next(clock)
    for name in ["a1", "a2", "a3"]:
        start(a2i, name)
    start(a2i, "b1", flow=OTHER_FLOW)
    page = a2i.list_human_loops(FlowDefinitionArn=FLOW, SortOrder="Ascending", MaxResults=2)
    assert [s["HumanLoopName"] for s in page["HumanLoopSummaries"]] == ["a1", "a2"]
    rest = a2i.list_human_loops(FlowDefinitionArn=FLOW, SortOrder="Ascending", MaxResults=2, NextToken=page["NextToken"])
    assert [s["HumanLoopName"] for s in rest["HumanLoopSummaries"]] == ["a3"] and "NextToken" not in rest
    newest_first = a2i.list_human_loops(FlowDefinitionArn=FLOW)["HumanLoopSummaries"]
    assert [s["HumanLoopName"] for s in newest_first] == ["a3", "a2", "a1"]
    after = a2i.list_human_loops(FlowDefinitionArn=FLOW, CreationTimeAfter=datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC))
    assert {s["HumanLoopName"] for s in after["HumanLoopSummaries"]} == {"a2", "a3"}
    status, headers, _ = http(f"{review_env.a2i_url}/human-loops")
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException"  # FlowDefinitionArn is required


def test_stop_then_delete(review_env, a2i):
    start(a2i, "to-stop")
    assert error_code(lambda: a2i.delete_human_loop(HumanLoopName="to-stop")) == ("ValidationException", 400)
    a2i.stop_human_loop(HumanLoopName="to-stop")
    a2i.stop_human_loop(HumanLoopName="to-stop")  # stopping a stopped loop is fine
    assert a2i.describe_human_loop(HumanLoopName="to-stop")["HumanLoopStatus"] == "Stopped"
    [change] = review_env.status_changes()
    assert change["detail"]["humanLoopStatus"] == "Stopped" and change["detail"]["humanLoopOutput"] is None
    a2i.delete_human_loop(HumanLoopName="to-stop")
    assert error_code(lambda: a2i.describe_human_loop(HumanLoopName="to-stop"))[0] == "ResourceNotFoundException"
    assert error_code(lambda: a2i.stop_human_loop(HumanLoopName="to-stop"))[0] == "ResourceNotFoundException"


def test_answer_writes_output_in_a2i_layout_and_announces_it(review_env, a2i):
    review_env.a2i.clock = lambda: datetime(2026, 11, 22, 9, 8, 7, 654000, tzinfo=UTC)
    content = {"taskType": "classification", "labels": [{"label": "dry", "score": 0.4}]}
    start(a2i, "answer-me", content=content)
    uri = review_env.a2i.answer("answer-me", {"category": {"label": "wet"}}, worker_id="w-1")
    assert uri == f"s3://{BUCKET}/a2i-output/pitwall-review/2026/11/22/09/08/07/answer-me/output.json"
    output = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=uri.split("/", 3)[3])["Body"].read())
    assert output["flowDefinitionArn"] == FLOW and output["humanLoopName"] == "answer-me"
    assert output["inputContent"] == content
    [answer] = output["humanAnswers"]
    assert answer["answerContent"] == {"category": {"label": "wet"}} and answer["workerId"] == "w-1"
    assert answer["submissionTime"] == "2026-11-22T09:08:07.654Z"
    described = a2i.describe_human_loop(HumanLoopName="answer-me")
    assert described["HumanLoopStatus"] == "Completed" and described["HumanLoopOutput"]["OutputS3Uri"] == uri
    [change] = review_env.status_changes()
    assert change["source"] == "aws.sagemaker" and change["detail-type"] == "SageMaker A2I HumanLoop Status Change"
    assert change["resources"] == ["arn:aws:sagemaker:us-east-1:123456789012:human-loop/answer-me"]
    assert change["detail"] == {
        "creationTime": "2026-11-22T09:08:07.654Z", "failureCode": None, "failureReason": None,
        "flowDefinitionArn": FLOW, "humanLoopArn": "arn:aws:sagemaker:us-east-1:123456789012:human-loop/answer-me",
        "humanLoopName": "answer-me", "humanLoopOutput": {"outputS3Uri": uri}, "humanLoopStatus": "Completed",
    }
    status, headers, _ = http(f"{review_env.a2i_url}/review/api/loops/answer-me/answer", "POST",
                              {"answerContent": {"category": {"label": "dry"}}})
    assert status == 409 and headers["x-amzn-ErrorType"] == "ConflictException"  # answered once only


def test_reviewer_api_lists_open_loops_and_serves_the_task(review_env, a2i):
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="frames/f.png", Body=b"\x89PNG-bytes", ContentType="image/png")
    start(a2i, "image-task", content={"taskType": "object-detection", "taskObject": f"s3://{BUCKET}/frames/f.png",
                                      "policy": "custom-labels", "reason": "low_confidence"})
    start(a2i, "done-task")
    review_env.a2i.answer("done-task", {"category": {"label": "x"}})
    status, _, body = http(f"{review_env.a2i_url}/review/api/loops")
    assert status == 200
    assert [(x["name"], x["taskType"], x["reason"]) for x in json.loads(body)["loops"]] == \
        [("image-task", "object-detection", "low_confidence")]
    status, _, body = http(f"{review_env.a2i_url}/review/api/loops/image-task")
    task = json.loads(body)
    assert task["objectUrl"] == "/review/api/loops/image-task/object" and task["input"]["policy"] == "custom-labels"
    status, headers, body = http(f"{review_env.a2i_url}/review/api/loops/image-task/object")
    assert status == 200 and body == b"\x89PNG-bytes" and headers["Content-Type"] == "image/png"


def test_page_and_static_files_are_served_without_leaving_the_folder(review_env):
    status, headers, body = http(f"{review_env.a2i_url}/review/")
    assert status == 200 and b"Pitwall human review" in body and headers["Content-Type"].startswith("text/html")
    assert b"http://" not in body and b"https://" not in body  # nothing from a CDN: works offline
    status, headers, body = http(f"{review_env.a2i_url}/review/static/review.js")
    assert status == 200 and b"annotatedResult" in body and b"https://" not in body
    assert http(f"{review_env.a2i_url}/review/static/../a2i.py")[0] == 404
    assert http(f"{review_env.a2i_url}/review/static/%2e%2e/a2i.py")[0] == 404
