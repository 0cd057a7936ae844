"""Completion against moto and the A2I emulator: answers become manifest parts; failures are told.

Also: a poison message reaches the dead-letter queue through a real SQS redrive policy, and the
merge command builds `augmented.manifest` from S3.
"""

from __future__ import annotations

import json

import boto3

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from human_review.merge_command import main as merge_main
from pitwall_shared.jsonlines import loads_lines
from tests.contracts import assert_valid_event
from tests.service import human_review_env
from tests.service.human_review_env import (
    BUCKET,
    REGION,
    LambdaContext,
    bridge_event,
    faceoff,
    sqs_event,
)

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests


def start_loop(event):
    assert handlers.trigger_handler(sqs_event(event), LambdaContext()) == {"batchItemFailures": []}


def deliver_status_changes(review_env, *, times=1):
    changes = review_env.status_changes()
    assert changes, "the emulator put no status-change event on the default bus"
    for _ in range(times):
        assert handlers.completion_handler(sqs_event(*changes), LambdaContext()) == {"batchItemFailures": []}
    return changes


def s3_text(uri):
    bucket, key = uri[5:].split("/", 1)
    return boto3.client("s3", region_name=REGION).get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_classification_answer_becomes_a_manifest_part(review_env):
    start_loop(bridge_event("FaceoffPredicted", faceoff(0.58, 0.58), event_id="fo-done"))
    name = human_loop_name("fo-done")
    review_env.published()  # drop HumanReviewRequested
    output_uri = review_env.a2i.answer(name, {"category": {"label": "away-wins"}}, worker_id="marshal-7")
    assert "/a2i-output/pitwall-review/" in output_uri and output_uri.endswith(f"/{name}/output.json")

    [change] = deliver_status_changes(review_env)
    assert change["detail"]["humanLoopStatus"] == "Completed"
    assert change["detail"]["humanLoopOutput"]["outputS3Uri"] == output_uri

    item = review_env.loop_item(name)
    assert item["status"] == "Completed" and item["corrected_label"] == "away-wins"
    part_uri = f"s3://{BUCKET}/manifests/parts/faceoff-winner/{name}.jsonl"
    assert item["manifest_part_s3_uri"] == part_uri
    line = json.loads(s3_text(part_uri))
    submitted = json.loads(s3_text(output_uri))["humanAnswers"][0]["submissionTime"]
    assert line == {
        "source-ref": f"s3://{BUCKET}/tasks/{name}/prediction.json",
        "faceoff-winner": 0,
        "faceoff-winner-metadata": {
            "class-name": "away-wins", "confidence": 1.0, "type": "groundtruth/text-classification",
            "human-annotated": "yes", "creation-date": submitted.replace("Z", "000"), "job-name": f"a2i/{name}",
        },
    }
    [completed] = review_env.published("HumanReviewCompleted")
    assert_valid_event("HumanReviewCompleted", completed["detail"])
    data = completed["detail"]["data"]
    assert data["status"] == "Completed" and data["corrected_label"] == "away-wins"
    assert data["predicted_label"] == "home-wins" and data["label_changed"] is True
    assert completed["detail"]["correlation_id"] == "corr-fo-done"


def test_bounding_boxes_become_an_object_detection_part(review_env):
    data = {"review_policy": "custom-labels", "model_id": "pit-objects-v3", "task_type": "object-detection",
            "task_object_s3_uri": "s3://frames/f1.jpg", "score_scale": 100,
            "labels": [{"label": "tyre", "score": 41.0}]}
    start_loop(bridge_event("ReviewCandidate", data, source="acme.vision", event_id="od-1"))
    name = human_loop_name("od-1")
    review_env.a2i.answer(name, {"annotatedResult": {
        "boundingBoxes": [{"label": "tyre", "left": 12, "top": 30, "width": 40, "height": 41}],
        "inputImageProperties": {"width": 320, "height": 240}}})
    deliver_status_changes(review_env)
    line = json.loads(s3_text(f"s3://{BUCKET}/manifests/parts/pit-objects/{name}.jsonl"))
    assert line["source-ref"] == "s3://frames/f1.jpg"
    assert line["pit-objects_BB"] == {"image_size": [{"width": 320, "height": 240, "depth": 3}],
                                      "annotations": [{"class_id": 1, "left": 12, "top": 30, "width": 40, "height": 41}]}
    assert line["pit-objects_BB-metadata"]["job-name"] == f"a2i/{name}"
    assert review_env.loop_item(name)["corrected_label"] == "tyre"


def test_duplicate_status_change_has_no_second_effect(review_env):
    start_loop(bridge_event("FaceoffPredicted", faceoff(0.4, 0.6 - 0.01), event_id="fo-dup"))
    review_env.published()
    review_env.a2i.answer(human_loop_name("fo-dup"), {"category": {"label": "away-wins"}})
    deliver_status_changes(review_env, times=3)
    assert len(review_env.published("HumanReviewCompleted")) == 1


def test_failed_and_stopped_loops_are_recorded_and_published(review_env):
    start_loop(bridge_event("FaceoffPredicted", faceoff(0.55, 0.55), event_id="fo-expire"))
    start_loop(bridge_event("FaceoffPredicted", faceoff(0.56, 0.56), event_id="fo-stop"))
    review_env.published()
    review_env.a2i.fail(human_loop_name("fo-expire"), code="Expired", reason="task expired")
    boto3.client("sagemaker-a2i-runtime", region_name=REGION).stop_human_loop(HumanLoopName=human_loop_name("fo-stop"))
    deliver_status_changes(review_env)

    assert review_env.loop_item(human_loop_name("fo-expire"))["status"] == "Failed"
    assert review_env.loop_item(human_loop_name("fo-expire"))["failure_code"] == "Expired"
    assert review_env.loop_item(human_loop_name("fo-stop"))["status"] == "Stopped"
    published = {event["detail"]["data"]["human_loop_name"]: event for event in review_env.published("HumanReviewCompleted")}
    for event in published.values():
        assert_valid_event("HumanReviewCompleted", event["detail"])
    assert published[human_loop_name("fo-expire")]["detail"]["data"]["failure_code"] == "Expired"
    assert published[human_loop_name("fo-stop")]["detail"]["data"]["status"] == "Stopped"
    assert published[human_loop_name("fo-stop")]["detail"]["data"]["corrected_label"] is None


def test_status_change_of_a_foreign_loop_is_ignored(review_env):
    event = {"version": "0", "id": "x", "detail-type": "SageMaker A2I HumanLoop Status Change",
             "source": "aws.sagemaker", "detail": {
                 "humanLoopName": "someone-else", "humanLoopStatus": "Completed",
                 "humanLoopArn": "arn:aws:sagemaker:us-east-1:123456789012:human-loop/someone-else",
                 "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/x",
                 "humanLoopOutput": {"outputS3Uri": "s3://elsewhere/output.json"}}}
    assert handlers.completion_handler(sqs_event(event), LambdaContext()) == {"batchItemFailures": []}
    assert review_env.published() == []


def test_malformed_status_change_fails_alone(review_env):
    result = handlers.completion_handler(sqs_event("nope", {"detail-type": "Other", "source": "x", "detail": {}},
                                                   message_ids=["a", "b"]), LambdaContext())
    assert result == {"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}


def test_poison_message_ends_in_the_dead_letter_queue(review_env):
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="trigger-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(QueueName="trigger", Attributes={
        "VisibilityTimeout": "0", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
    })["QueueUrl"]
    good = bridge_event("FaceoffPredicted", faceoff(0.55, 0.55), event_id="fine-1")
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(good))
    sqs.send_message(QueueUrl=queue, MessageBody='{"detail-type": "FaceoffPredicted"')  # truncated JSON
    invocations = 0
    # What Lambda's SQS poller does: receive, invoke, delete what the function did not report.
    while invocations < 10:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                       AttributeNames=["All"]).get("Messages", [])
        if not messages:
            break
        invocations += 1
        event = {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                              "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                              "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:trigger",
                              "awsRegion": REGION} for m in messages]}
        failed = {item["itemIdentifier"] for item in handlers.trigger_handler(event, LambdaContext())["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in dead] == ['{"detail-type": "FaceoffPredicted"']
    assert list(review_env.a2i.loops) == [human_loop_name("fine-1")]


def test_merge_command_builds_the_augmented_manifest_in_s3(review_env, tmp_path, capsys):
    s3 = boto3.client("s3", region_name=REGION)
    base = [{"source-ref": "s3://frames/a.jpg", "pit-objects_BB": {"annotations": []}},
            {"source-ref": "s3://frames/b.jpg", "pit-objects_BB": {"annotations": []}}]
    s3.put_object(Bucket=BUCKET, Key="manifests/train.manifest", Body="".join(json.dumps(x) + "\n" for x in base))
    newer = {"source-ref": "s3://frames/b.jpg", "pit-objects_BB": {"annotations": [{"class_id": 2}]},
             "pit-objects_BB-metadata": {"creation-date": "2026-11-22T10:00:02.000000"}}
    older = {"source-ref": "s3://frames/b.jpg", "pit-objects_BB": {"annotations": [{"class_id": 1}]},
             "pit-objects_BB-metadata": {"creation-date": "2026-11-22T10:00:01.000000"}}
    fresh = {"source-ref": "s3://frames/c.jpg", "pit-objects_BB": {"annotations": []},
             "pit-objects_BB-metadata": {"creation-date": "2026-11-22T10:00:00.000000"}}
    # Key order says older-after-newer; the answer time must decide.
    for key, line in [("a-newer", newer), ("b-fresh", fresh), ("z-older", older)]:
        s3.put_object(Bucket=BUCKET, Key=f"manifests/parts/pit-objects/{key}.jsonl", Body=json.dumps(line) + "\n")
    code = merge_main(["--base", f"s3://{BUCKET}/manifests/train.manifest",
                       "--parts", f"s3://{BUCKET}/manifests/parts/pit-objects/",
                       "--out", f"s3://{BUCKET}/manifests/augmented.manifest"])
    assert code == 0 and "3 lines written" in capsys.readouterr().out
    lines = loads_lines(s3_text(f"s3://{BUCKET}/manifests/augmented.manifest"))
    assert [line["source-ref"] for line in lines] == ["s3://frames/a.jpg", "s3://frames/b.jpg", "s3://frames/c.jpg"]
    assert lines[1]["pit-objects_BB"]["annotations"] == [{"class_id": 2}]

    (tmp_path / "bad.manifest").write_text('{"source-ref": "s3://x/y"}\nnot json\n')
    assert merge_main(["--base", str(tmp_path / "bad.manifest"), "--parts", str(tmp_path),
                       "--out", str(tmp_path / "out.manifest")]) == 1
    assert "bad.manifest:2: not valid JSON" in capsys.readouterr().err


def test_completion_publish_failure_is_retried_and_published_once(review_env):
    from pitwall_shared.publisher import PublishError

    start_loop(bridge_event("FaceoffPredicted", faceoff(0.55, 0.55), event_id="fo-pubfail"))
    review_env.published()
    review_env.a2i.answer(human_loop_name("fo-pubfail"), {"category": {"label": "home-wins"}})
    changes = review_env.status_changes()
    publisher = handlers.service().completion.publisher

    def failing(*_args, **_kwargs):
        raise PublishError([("x", "InternalFailure")])

    handlers.service().completion.publisher = type("P", (), {"publish": staticmethod(failing)})()
    try:
        result = handlers.completion_handler(sqs_event(*changes, message_ids=["c1"]), LambdaContext())
        assert result == {"batchItemFailures": [{"itemIdentifier": "c1"}]}
    finally:
        handlers.service().completion.publisher = publisher
    item = review_env.loop_item(human_loop_name("fo-pubfail"))
    assert item["status"] == "Completed" and not item["completed_published"]
    for _ in range(2):  # the redelivery publishes; the next one finds it done
        assert handlers.completion_handler(sqs_event(*changes), LambdaContext()) == {"batchItemFailures": []}
    [completed] = review_env.published("HumanReviewCompleted")
    assert completed["detail"]["data"]["label_changed"] is False
