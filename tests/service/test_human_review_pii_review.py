"""Uncertain PII (issue 19 item 2), against moto and the A2I emulator: a `PiiReviewCandidate` starts
one loop whose task is read from the raw-PII bucket only; no event, queue message, loop input, loop
record or review-bucket object holds the text; the answer becomes a line in the augmented-manifest
format Comprehend trains a custom entity recognizer on, written to the raw-PII bucket."""

from __future__ import annotations

import json

import boto3

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from tests.contracts import assert_valid_event
from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, PII_BUCKET, REGION, LambdaContext, bridge_event, sqs_event

review_env = human_review_env.review_env

TEXT = "Call Jordan Whitfield on 555-0142, he owes me"
NAME = (TEXT.index("Jordan"), TEXT.index("Jordan") + len("Jordan Whitfield"))
PHONE = (TEXT.index("555"), TEXT.index("555") + len("555-0142"))
SECRETS = ("Jordan Whitfield", "Whitfield", "555-0142", TEXT)


def pii_candidate(event_id: str = "pii-1", *, bucket: str = PII_BUCKET) -> dict:
    """A PiiReviewCandidate as pii_redaction publishes it, with its task object written first."""
    key = f"pii-review/{event_id}.json"
    spans = [{"begin_offset": NAME[0], "end_offset": NAME[1], "type": "NAME", "score": 0.61},
             {"begin_offset": PHONE[0], "end_offset": PHONE[1], "type": "PHONE", "score": 0.55}]
    task = {"text": TEXT, "spans": spans, "field": "Tweet1", "record_id": f"rec-{event_id}"}
    boto3.client("s3", region_name=REGION).put_object(Bucket=bucket, Key=key, Body=json.dumps(task).encode())
    data = {"record_id": f"rec-{event_id}", "field": "Tweet1", "task_object": f"s3://{bucket}/{key}",
            "spans": spans, "detected_at": "2026-11-22T10:00:00Z"}
    return bridge_event("PiiReviewCandidate", data, event_id=event_id, source="pitwall.pii_redaction")


def run(handler, *bodies):
    return getattr(handlers, handler)(sqs_event(*bodies), LambdaContext())


def bucket_texts(bucket: str, prefix: str = "") -> dict[str, str]:
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys}


def assert_no_text(blob: str, where: str) -> None:
    found = [secret for secret in SECRETS if secret in blob]
    assert not found, f"PII text {found} in {where}"


def test_a_pii_review_candidate_starts_one_loop_and_no_event_holds_the_text(review_env):
    event = pii_candidate()
    assert_valid_event("PiiReviewCandidate", event["detail"])  # the producer's contract
    assert_no_text(json.dumps(event), "the PiiReviewCandidate event")
    assert run("trigger_handler", event, event) == {"batchItemFailures": []}  # delivered twice

    name = human_loop_name("pii-1")
    assert list(review_env.a2i.loops) == [name]
    loop = review_env.a2i.loops[name]
    assert loop.content_classifiers == []  # the task holds PII: never marked free of it
    content = json.loads(loop.input_content)
    assert content["taskType"] == "text-spans" and content["policy"] == "pii-span"
    assert content["taskObject"] == f"s3://{PII_BUCKET}/pii-review/pii-1.json"
    assert [(s["begin_offset"], s["end_offset"], s["type"]) for s in content["spans"]] == [(*NAME, "NAME"),
                                                                                          (*PHONE, "PHONE")]
    assert content["text"] is None
    assert_no_text(loop.input_content, "the loop's InputContent")
    assert_no_text(json.dumps(review_env.loop_item(name)), "the loop record")
    [requested] = review_env.published("HumanReviewRequested")
    assert_valid_event("HumanReviewRequested", requested["detail"])
    assert_no_text(json.dumps(requested), "HumanReviewRequested")
    assert bucket_texts(BUCKET) == {}  # nothing copied to the review bucket (no task.txt)
    # The reviewer page reads the task from the raw-PII bucket object the event named.
    assert review_env.a2i.task(name)["objectUrl"] == f"/review/api/loops/{name}/object"
    assert json.loads(review_env.a2i.task_object(name)[0])["text"] == TEXT


def test_the_answer_becomes_a_comprehend_entity_manifest_line_in_the_raw_pii_bucket(review_env):
    assert run("trigger_handler", pii_candidate("pii-2")) == {"batchItemFailures": []}
    name = human_loop_name("pii-2")
    review_env.published()
    answer = {"piiSpans": json.dumps([{"beginOffset": NAME[0], "endOffset": NAME[1], "label": "NAME"},
                                      {"beginOffset": PHONE[0], "endOffset": PHONE[1], "label": "NOT_PII"}])}
    review_env.a2i.answer(name, answer, worker_id="privacy-officer")
    changes = review_env.status_changes()
    assert run("completion_handler", *changes) == {"batchItemFailures": []}
    assert run("completion_handler", *changes) == {"batchItemFailures": []}  # redelivered: same part

    parts = bucket_texts(PII_BUCKET, "pii-review/manifests/")
    key = f"pii-review/manifests/parts/pii-entities/{name}.jsonl"
    assert list(parts) == [key] and parts[key].endswith("\n") and parts[key].count("\n") == 1
    line = json.loads(parts[key])
    assert line["source"] == TEXT
    assert line["pii-entities"]["annotations"]["entities"] == [
        {"startOffset": NAME[0], "endOffset": NAME[1], "label": "NAME"}]  # the phone span was judged not PII
    labels = [item["label"] for item in line["pii-entities"]["annotations"]["labels"]]
    assert "NAME" in labels and "NOT_PII" not in labels and len(labels) <= 25  # Comprehend's entity type limit
    assert all(" " not in label and "," not in label for label in labels)
    metadata = line["pii-entities-metadata"]
    assert metadata["type"] == "groundtruth/text-span" and metadata["human-annotated"] == "yes"
    assert metadata["entities"] == [{"confidence": 1}] and metadata["job-name"] == f"a2i/{name}"
    assert TEXT[line["pii-entities"]["annotations"]["entities"][0]["startOffset"]:NAME[1]] == "Jordan Whitfield"

    item = review_env.loop_item(name)
    assert item["status"] == "Completed" and item["corrected_label"] == "NAME"
    assert item["manifest_part_s3_uri"] == f"s3://{PII_BUCKET}/{key}"
    assert_no_text(json.dumps(item), "the loop record")
    [completed] = review_env.published("HumanReviewCompleted")
    assert_no_text(json.dumps(completed), "HumanReviewCompleted")
    for where, text in bucket_texts(BUCKET).items():  # A2I's output.json and anything else there
        assert_no_text(text, f"s3://{BUCKET}/{where}")


def test_a_task_object_outside_the_raw_pii_bucket_is_refused_alone(review_env):
    outside = pii_candidate("pii-3", bucket=BUCKET)
    good = pii_candidate("pii-4")
    result = run("trigger_handler", outside, good)
    assert len(result["batchItemFailures"]) == 1
    assert list(review_env.a2i.loops) == [human_loop_name("pii-4")]


def test_without_a_raw_pii_bucket_pii_review_fails_closed(review_env, monkeypatch):
    monkeypatch.delenv("PII_REVIEW_BUCKET_NAME")
    handlers.service.cache_clear()
    assert len(run("trigger_handler", pii_candidate("pii-5"))["batchItemFailures"]) == 1
    assert review_env.a2i.loops == {}
