"""The trigger function against moto and the A2I emulator: from prediction events to human loops."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from human_review import handlers
from human_review.adapters.a2i import HumanLoops
from human_review.logic.loop_names import human_loop_name
from human_review.models import LoopStatus
from tests.contracts import assert_valid_event
from tests.service import human_review_env
from tests.service.human_review_env import (
    BUCKET,
    FLOW,
    REGION,
    LambdaContext,
    bridge_event,
    faceoff,
    pit_battle,
    sqs_event,
)

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests


def run_trigger(*bodies, message_ids=None):
    return handlers.trigger_handler(sqs_event(*bodies, message_ids=message_ids), LambdaContext())


def candidate(scores, *, source="acme.vision", event_id=None, **extra):
    data = {"review_policy": "custom-labels", "model_id": "pit-objects-v3", "task_type": "object-detection",
            "task_object_s3_uri": "s3://frames/lap12/frame-0042.jpg", "score_scale": 100,
            "labels": [{"label": "car", "score": score, "bounding_box": {"left": 0.1, "top": 0.2, "width": 0.3,
                                                                         "height": 0.4}} for score in scores]} | extra
    return bridge_event("ReviewCandidate", data, source=source, event_id=event_id)


def test_low_confidence_prediction_starts_one_loop(review_env):
    event = bridge_event("FaceoffPredicted", faceoff(0.55, 0.55), event_id="faceoff-evt-1")
    assert run_trigger(event) == {"batchItemFailures": []}

    name = human_loop_name("faceoff-evt-1")
    loop = review_env.a2i.loops[name]
    assert loop.status == "InProgress" and loop.flow_definition_arn == FLOW
    assert loop.content_classifiers == []  # not from the redaction service: no PII claim
    content = json.loads(loop.input_content)
    assert content["labels"] == [{"label": "home-wins", "score": 0.55}]
    assert content["classes"] == ["away-wins", "home-wins"] and content["reason"] == "low_confidence"
    assert content["prediction"]["home_win_probability"] == 0.55

    item = review_env.loop_item(name)
    assert item["status"] == "InProgress" and item["policy"] == "faceoff" and item["requested_published"]
    assert item["task_object_s3_uri"] == f"s3://{BUCKET}/tasks/{name}/prediction.json"
    stored = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=f"tasks/{name}/prediction.json")["Body"].read())
    assert stored["event_id"] == "faceoff-evt-1" and stored["data"]["confidence"] == 0.55

    [requested] = review_env.published("HumanReviewRequested")
    assert_valid_event("HumanReviewRequested", requested["detail"])
    data = requested["detail"]["data"]
    assert data["human_loop_name"] == name and data["reason"] == "low_confidence"
    assert data["predicted_label"] == "home-wins" and data["normalised_score"] == pytest.approx(0.55)
    assert requested["detail"]["correlation_id"] == "corr-faceoff-evt-1"


def test_confident_prediction_starts_nothing(review_env):
    assert run_trigger(bridge_event("FaceoffPredicted", faceoff(0.9, 0.9), event_id="sure-1")) == {"batchItemFailures": []}
    assert review_env.a2i.loops == {} and review_env.published("HumanReviewRequested") == []


def test_custom_labels_below_60_on_the_hundred_scale(review_env):
    run_trigger(candidate([59.0], event_id="cl-low"), candidate([61.0], event_id="cl-high"))
    assert set(review_env.a2i.loops) == {human_loop_name("cl-low")}
    content = json.loads(review_env.a2i.loops[human_loop_name("cl-low")].input_content)
    assert content["taskType"] == "object-detection" and content["taskObject"] == "s3://frames/lap12/frame-0042.jpg"
    assert content["labels"][0]["bounding_box"] == {"left": 0.1, "top": 0.2, "width": 0.3, "height": 0.4}


def test_duplicate_delivery_starts_one_loop_and_publishes_once(review_env):
    event = bridge_event("PitBattlePredicted", pit_battle(0.52), event_id="battle-17")  # confidence 0.04
    assert run_trigger(event, event) == {"batchItemFailures": []}  # twice in one batch
    assert run_trigger(event) == {"batchItemFailures": []}  # and redelivered later
    assert list(review_env.a2i.loops) == [human_loop_name("battle-17")]
    [requested] = review_env.published("HumanReviewRequested")
    assert requested["detail"]["data"]["predicted_label"] == "positions-swapped"


def test_pit_battle_threshold_reads_confidence_as_distance_from_a_coin_flip(review_env):
    run_trigger(bridge_event("PitBattlePredicted", pit_battle(0.41), event_id="b-41"),  # confidence 0.18
                bridge_event("PitBattlePredicted", pit_battle(0.39), event_id="b-39"))  # confidence 0.22
    assert list(review_env.a2i.loops) == [human_loop_name("b-41")]


def test_loop_started_but_record_lost_counts_conflict_as_done(review_env):
    event = candidate([10.0], event_id="conflict-1")
    name = human_loop_name("conflict-1")
    a2i = boto3.client("sagemaker-a2i-runtime", region_name=REGION)
    a2i.start_human_loop(HumanLoopName=name, FlowDefinitionArn=FLOW, HumanLoopInput={"InputContent": "{}"})
    assert run_trigger(event) == {"batchItemFailures": []}
    assert review_env.loop_item(name)["status"] == "InProgress"
    assert review_env.loop_item(name)["human_loop_arn"].endswith(f":human-loop/{name}")


def test_malformed_messages_fail_alone(review_env):
    good = candidate([20.0], event_id="good-1")
    not_json = "{this is not json"
    unknown_policy = candidate([20.0], event_id="bad-policy", review_policy="nope")
    bad_score = bridge_event("FaceoffPredicted", faceoff(0.5, confidence="high"), event_id="bad-score")
    result = run_trigger(good, not_json, unknown_policy, bad_score, message_ids=["m1", "m2", "m3", "m4"])
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"},
                                            {"itemIdentifier": "m4"}]}
    assert list(review_env.a2i.loops) == [human_loop_name("good-1")]


def test_error_messages_carry_no_record_contents(review_env, caplog):
    secret = "Jane Doe lives at 12 Pit Lane"
    data = {"review_policy": "image-classification", "model_id": "m", "task_type": "classification",
            "task_text": secret, "score_scale": 1, "labels": [{"label": "dry", "score": 7}]}
    processor_errors = []
    original = handlers._trigger_processor.failure_handler

    def spy(record, exception):
        processor_errors.append(str(exception[1]))
        return original(record, exception)

    handlers._trigger_processor.failure_handler = spy
    try:
        result = run_trigger(bridge_event("ReviewCandidate", data, source="acme"))
    finally:
        handlers._trigger_processor.failure_handler = original
    assert len(result["batchItemFailures"]) == 1
    assert processor_errors and "above score_scale" in processor_errors[0]
    assert secret not in processor_errors[0] and secret not in caplog.text


def test_a_burst_of_five_times_the_ceiling_loses_no_candidate(review_env, monkeypatch):
    """Issue 19 item 3: over the per-minute ceiling a candidate waits (put back on the queue for the
    next minute), it is not dropped: 5x the ceiling in one burst ends as 5x the ceiling loops."""
    from datetime import UTC, datetime, timedelta

    from human_review.adapters.loops_table import LoopsTable
    policies = human_review_env.opt_in_policies()
    for item in policies:
        item["max_loops_per_minute"] = 2
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="review-trigger")["QueueUrl"]
    monkeypatch.setenv("REVIEW_POLICIES", json.dumps(policies))
    monkeypatch.setenv("TRIGGER_QUEUE_URL", queue)
    monkeypatch.setenv("MAX_DEFER_DELAY_S", "0")  # moto would wait the real delay
    handlers.service.cache_clear()
    minute = [datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)]
    handlers.service().trigger.clock = lambda: minute[0]

    events = [candidate([30.0], event_id=f"burst-{index}") for index in range(10)]
    assert run_trigger(*events) == {"batchItemFailures": []}
    assert len(review_env.a2i.loops) == 2
    waiting = LoopsTable("loops").by_status(LoopStatus.PENDING)
    assert len(waiting) == 8 and all(item.failure_reason == "waiting: loops-per-minute ceiling" for item in waiting)
    assert LoopsTable("loops").by_status(LoopStatus.SKIPPED) == []
    rounds = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
                                       ).get("Messages", [])
        if not messages:
            break
        rounds += 1
        minute[0] += timedelta(minutes=1)
        records = sqs_event(*[m["Body"] for m in messages])
        for record, message in zip(records["Records"], messages, strict=True):
            record["messageAttributes"] = {k: {"stringValue": v["StringValue"], "dataType": v["DataType"]}
                                           for k, v in message.get("MessageAttributes", {}).items()}
        for message in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        assert handlers.trigger_handler(records, LambdaContext()) == {"batchItemFailures": []}
        assert rounds < 20
    assert len(review_env.a2i.loops) == 10  # every candidate got its loop, none dropped, none twice
    assert rounds >= 4  # 2 a minute: the last ones waited four more minutes
    assert len(review_env.published("HumanReviewRequested")) == 10


def fast_failing_client():
    """An A2I client without botocore's own retries, so the service's retry loop is what is tested."""
    fast = boto3.client("sagemaker-a2i-runtime", region_name=REGION,
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    sleeps = []
    handlers.service().trigger.human_loops = HumanLoops(a2i=fast, sleep=sleeps.append)
    return sleeps


def test_throttling_is_retried(review_env):
    sleeps = fast_failing_client()
    review_env.a2i.throttle_next(2)
    assert run_trigger(candidate([30.0], event_id="throttled-1")) == {"batchItemFailures": []}
    assert human_loop_name("throttled-1") in review_env.a2i.loops
    assert sleeps == [0.5, 1.0]  # two spaced retries, then the third attempt went through


def test_throttling_that_persists_fails_the_message(review_env):
    fast_failing_client()
    review_env.a2i.throttle_next(100)
    result = run_trigger(candidate([30.0], event_id="throttled-2"), message_ids=["t2"])
    assert result == {"batchItemFailures": [{"itemIdentifier": "t2"}]}
    # The record waits as Pending; the redelivery finishes the job once A2I answers again.
    assert review_env.loop_item(human_loop_name("throttled-2"))["status"] == "Pending"
    review_env.a2i.throttle_next(0)
    assert run_trigger(candidate([30.0], event_id="throttled-2")) == {"batchItemFailures": []}
    assert review_env.loop_item(human_loop_name("throttled-2"))["status"] == "InProgress"


def test_content_from_the_redaction_service_is_marked_free_of_pii(review_env):
    data = {"review_policy": "image-classification", "model_id": "ticket-topic", "task_type": "classification",
            "task_text": "Driver [NAME] reported a damp track", "score_scale": 1,
            "labels": [{"label": "damp", "score": 0.41}]}
    run_trigger(bridge_event("ReviewCandidate", data, source="pitwall.pii_redaction", event_id="redacted-1"))
    loop = review_env.a2i.loops[human_loop_name("redacted-1")]
    assert loop.content_classifiers == ["FreeOfPersonallyIdentifiableInformation"]


def test_content_over_the_a2i_limit_goes_to_s3(review_env):
    text = "lap " * 800_000  # 3.2 M characters, over StartHumanLoop's 3,145,728
    data = {"review_policy": "image-classification", "model_id": "m", "task_type": "classification",
            "task_text": text, "score_scale": 1, "labels": [{"label": "dry", "score": 0.2}]}
    assert run_trigger(bridge_event("ReviewCandidate", data, source="acme", event_id="huge-1")) == {"batchItemFailures": []}
    name = human_loop_name("huge-1")
    content = json.loads(review_env.a2i.loops[name].input_content)
    assert content["inputContentS3Uri"] == f"s3://{BUCKET}/tasks/{name}/input.json"
    assert len(review_env.a2i.loops[name].input_content) < 1000
    assert review_env.a2i.task(name)["input"]["text"] == text  # the reviewer page follows the reference


def test_over_prediction_publishes_once_and_samples_the_class(review_env, monkeypatch):
    policies = human_review_env.opt_in_policies()
    for item in policies:
        item |= {"drift_window": 10, "drift_min_samples": 5, "drift_max_share": 0.7, "drift_sample_rate": 0.0,
                 "audit_sample_rate": 0.0}
    monkeypatch.setenv("REVIEW_POLICIES", json.dumps(policies))
    handlers.service.cache_clear()
    # Confident predictions, all "home-wins": none is low-confidence, yet the fifth crosses 70 %.
    events = [bridge_event("FaceoffPredicted", faceoff(0.9, 0.9), event_id=f"fo-{index}") for index in range(12)]
    for event in events:
        assert run_trigger(event) == {"batchItemFailures": []}
    run_trigger(events[4])  # a redelivery of the crossing prediction changes nothing
    drift = review_env.published("PredictionDriftDetected")
    assert len(drift) == 1
    assert_valid_event("PredictionDriftDetected", drift[0]["detail"])
    data = drift[0]["detail"]["data"]
    assert data["predicted_class"] == "home-wins" and data["share"] == 1.0 and data["trigger_event_id"] == "fo-4"
    assert list(review_env.a2i.loops) == [human_loop_name("fo-4")]
    assert json.loads(review_env.a2i.loops[human_loop_name("fo-4")].input_content)["reason"] == "drift_sample"


def test_publish_failure_is_retried_without_a_second_loop(review_env):
    from pitwall_shared.publisher import PublishError

    publisher = handlers.service().trigger.publisher
    original = publisher.publish
    calls = []

    def failing_once(detail_type, data, **kwargs):
        calls.append(detail_type)
        if len(calls) == 1:
            raise PublishError([("x", "InternalFailure")])
        return original(detail_type, data, **kwargs)

    handlers.service().trigger.publisher = type("P", (), {"publish": staticmethod(failing_once)})()
    try:
        event = candidate([12.0], event_id="publish-retry")
        assert run_trigger(event, message_ids=["p1"]) == {"batchItemFailures": [{"itemIdentifier": "p1"}]}
        name = human_loop_name("publish-retry")
        assert review_env.loop_item(name)["status"] == "InProgress"
        assert not review_env.loop_item(name)["requested_published"]
        assert run_trigger(event) == {"batchItemFailures": []}  # the redelivery only publishes
        assert run_trigger(event) == {"batchItemFailures": []}  # and a third delivery does nothing
    finally:
        handlers.service().trigger.publisher = publisher
    assert list(review_env.a2i.loops) == [name]
    assert len(review_env.published("HumanReviewRequested")) == 1
    assert review_env.loop_item(name)["requested_published"]
