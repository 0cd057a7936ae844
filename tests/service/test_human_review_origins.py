"""Issue 16 item 6: a ReviewCandidate only from a listed source, its task object only in a listed bucket;
the reviewer page (A2I emulator) serves task objects from the listed buckets only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from human_review.logic.origins import CandidateOrigins
from tests.service import human_review_env
from tests.service.human_review_env import (
    FLOW,
    REGION,
    TASK_OBJECT_BUCKETS,
    LambdaContext,
    bridge_event,
    sqs_event,
)

review_env = human_review_env.review_env


def candidate(*, source: str, uri: str, event_id: str) -> dict:
    data = {"review_policy": "custom-labels", "model_id": "pit-objects-v3", "task_type": "object-detection",
            "task_object_s3_uri": uri, "score_scale": 100,
            "labels": [{"label": "car", "score": 20, "bounding_box": {"left": 0.1, "top": 0.2, "width": 0.3,
                                                                      "height": 0.4}}]}
    return bridge_event("ReviewCandidate", data, source=source, event_id=event_id)


def _refusals(caplog) -> list[dict]:
    return [r.__dict__ for r in caplog.records if r.getMessage() == "record refused"]


def test_listed_source_and_bucket_start_a_loop(review_env):
    event = candidate(source="acme.vision", uri="s3://frames/lap12/f.jpg", event_id="origin-ok")
    assert handlers.trigger_handler(sqs_event(event), LambdaContext()) == {"batchItemFailures": []}
    assert human_loop_name("origin-ok") in review_env.a2i.loops


@pytest.mark.parametrize(("source", "uri", "kind"), [
    ("evil.corp", "s3://frames/lap12/f.jpg", "unlisted_source"),
    ("acme.vision", "s3://pitwall-review-test/manifests/augmented.manifest", "unlisted_bucket"),
    ("acme.vision", "s3://secret-bucket-of-someone/p.png", "unlisted_bucket"),
])
def test_unlisted_source_or_task_object_bucket_is_refused_alone(review_env, caplog, source, uri, kind):
    bad = candidate(source=source, uri=uri, event_id=f"origin-bad-{kind}")
    good = candidate(source="acme.vision", uri="s3://frames/lap12/g.jpg", event_id=f"origin-good-{kind}")
    result = handlers.trigger_handler(sqs_event(bad, good, message_ids=["bad", "good"]), LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert human_loop_name(f"origin-bad-{kind}") not in review_env.a2i.loops
    assert human_loop_name(f"origin-good-{kind}") in review_env.a2i.loops
    (refusal,) = _refusals(caplog)
    assert refusal["reason_kind"] == kind
    logged = json.dumps(refusal, default=str)
    assert source not in logged or source == "acme.vision"  # the source sent is not echoed
    assert uri.split("//")[1].split("/")[0] not in logged  # nor the bucket named


def test_nothing_listed_refuses_every_candidate():
    assert [p.kind for p in CandidateOrigins().problems("acme.vision", {"task_object_s3_uri": "s3://frames/a"})] \
        == ["unlisted_source", "unlisted_bucket"]
    assert CandidateOrigins.of(" acme.vision , ", "frames").problems("acme.vision", {"task_text": "t"}) == []


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the emulator's loopback URL
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_reviewer_page_serves_task_objects_from_listed_buckets_only(review_env):
    s3 = boto3.client("s3", region_name=REGION)
    listed = TASK_OBJECT_BUCKETS[0]
    for bucket in (listed, "not-listed"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="o.png", Body=b"\x89PNG", ContentType="image/png")
        content = {"taskType": "classification", "policy": "p", "taskObject": f"s3://{bucket}/o.png", "labels": []}
        review_env.a2i.start_human_loop({"HumanLoopName": f"page-{bucket}", "FlowDefinitionArn": FLOW,
                                         "HumanLoopInput": {"InputContent": json.dumps(content)}})
    assert _get(f"{review_env.a2i_url}/review/api/loops/page-{listed}/object") == 200
    assert _get(f"{review_env.a2i_url}/review/api/loops/page-not-listed/object") == 403
