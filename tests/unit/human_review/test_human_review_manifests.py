"""A2I output.json → augmented-manifest lines, checked against lines written out by hand."""

from __future__ import annotations

import json

import pytest

from human_review.logic.manifests import (
    ManifestContext,
    ManifestError,
    corrected_label,
    creation_date,
    manifest_line,
    to_json_line,
)
from human_review.models import A2IOutput, TaskType

LOOP = "pw-evt-1-0011223344556677"


def output(*answers, loop=LOOP):
    return A2IOutput.model_validate({
        "flowDefinitionArn": "arn:aws:sagemaker:us-east-1:123456789012:flow-definition/pitwall-review",
        "humanAnswers": [{"answerContent": content, "submissionTime": time, "workerId": f"w{index}",
                          "acceptanceTime": time, "timeSpentInSeconds": 12}
                         for index, (content, time) in enumerate(answers)],
        "humanLoopName": loop,
        "inputContent": {"taskType": "whatever"},
    })


def boxes_answer(*boxes, width=640, height=480):
    return {"annotatedResult": {"boundingBoxes": [dict(zip(("label", "left", "top", "width", "height"), box, strict=True))
                                                  for box in boxes],
                                "inputImageProperties": {"width": width, "height": height}}}


OD = ManifestContext(human_loop_name=LOOP, dataset="pit-objects", task_type=TaskType.OBJECT_DETECTION,
                     source_ref="s3://frames/lap12/frame-0042.jpg", classes=("car", "tyre", "crew-member"))


class TestObjectDetection:
    def test_line_matches_the_hand_written_one(self):
        answer = boxes_answer(("tyre", 100, 200, 50, 40), ("car", 10.4, 20.6, 300, 150))
        line = manifest_line(OD, output((answer, "2026-11-22T10:15:30.250Z")))
        expected = (
            '{"source-ref":"s3://frames/lap12/frame-0042.jpg",'
            '"pit-objects_BB":{"image_size":[{"width":640,"height":480,"depth":3}],'
            '"annotations":[{"class_id":1,"left":100,"top":200,"width":50,"height":40},'
            '{"class_id":0,"left":10,"top":21,"width":300,"height":150}]},'
            '"pit-objects_BB-metadata":{"objects":[{"confidence":1},{"confidence":1}],'
            '"class-map":{"0":"car","1":"tyre","2":"crew-member"},"type":"groundtruth/object-detection",'
            '"human-annotated":"yes","creation-date":"2026-11-22T10:15:30.250000",'
            '"job-name":"a2i/pw-evt-1-0011223344556677"}}'
        )
        assert to_json_line(line) == expected

    def test_new_label_gets_next_class_id_and_boxes_are_clipped(self):
        answer = boxes_answer(("pit-board", 600, 450, 100, 100), ("car", -5, -5, 20, 20), ("car", 700, 10, 5, 5))
        line = manifest_line(OD, output((answer, "2026-11-22T10:15:30Z")))
        assert line["pit-objects_BB"]["annotations"] == [
            {"class_id": 3, "left": 600, "top": 450, "width": 40, "height": 30},
            {"class_id": 0, "left": 0, "top": 0, "width": 15, "height": 15},
        ]  # the third box lies outside the image and is dropped
        assert line["pit-objects_BB-metadata"]["class-map"]["3"] == "pit-board"
        assert len(line["pit-objects_BB-metadata"]["objects"]) == 2

    def test_no_boxes_is_a_valid_empty_answer(self):
        line = manifest_line(OD, output((boxes_answer(), "2026-11-22T10:15:30Z")))
        assert line["pit-objects_BB"]["annotations"] == [] and corrected_label(line, OD) is None

    def test_corrected_label_is_the_most_boxed_class(self):
        answer = boxes_answer(("tyre", 1, 1, 5, 5), ("car", 10, 10, 5, 5), ("tyre", 20, 20, 5, 5))
        assert corrected_label(manifest_line(OD, output((answer, "2026-11-22T10:15:30Z"))), OD) == "tyre"

    def test_malformed_answer_names_the_field(self):
        bad = {"annotatedResult": {"boundingBoxes": [{"label": "car", "left": 1, "top": 1, "width": 2}],
                                   "inputImageProperties": {"width": 10, "height": 10}}}
        with pytest.raises(ManifestError, match=r"annotatedResult.boundingBoxes.0.height"):
            manifest_line(OD, output((bad, "2026-11-22T10:15:30Z")))

    def test_output_of_another_loop_is_refused(self):
        with pytest.raises(ManifestError, match="another loop"):
            manifest_line(OD, output((boxes_answer(), "2026-11-22T10:15:30Z"), loop="pw-other"))


class TestClassification:
    def test_own_prediction_line_matches_the_hand_written_one(self):
        context = ManifestContext(human_loop_name=LOOP, dataset="faceoff-winner", task_type=TaskType.CLASSIFICATION,
                                  source_ref="s3://review/tasks/pw-x/prediction.json",
                                  classes=("away-wins", "home-wins"), image=False)
        line = manifest_line(context, output(({"category": {"label": "away-wins"}}, "2026-11-22T10:15:30.5+01:00")))
        expected = {
            "source-ref": "s3://review/tasks/pw-x/prediction.json",
            "faceoff-winner": 0,
            "faceoff-winner-metadata": {
                "class-name": "away-wins", "confidence": 1.0, "type": "groundtruth/text-classification",
                "human-annotated": "yes", "creation-date": "2026-11-22T09:15:30.500000",
                "job-name": "a2i/pw-evt-1-0011223344556677",
            },
        }
        assert line == expected
        assert list(line) == ["source-ref", "faceoff-winner", "faceoff-winner-metadata"]
        assert corrected_label(line, context) == "away-wins"

    def test_image_classification_line(self):
        context = ManifestContext(human_loop_name=LOOP, dataset="track-condition", task_type=TaskType.CLASSIFICATION,
                                  source_ref="s3://frames/t1.jpg", classes=("dry", "damp", "wet"))
        line = manifest_line(context, output(({"category": {"label": "wet"}}, "2026-11-22T10:15:30Z")))
        assert json.loads(to_json_line(line)) == {
            "source-ref": "s3://frames/t1.jpg", "track-condition": 2,
            "track-condition-metadata": {"class-name": "wet", "confidence": 1.0,
                                         "type": "groundtruth/image-classification", "human-annotated": "yes",
                                         "creation-date": "2026-11-22T10:15:30.000000",
                                         "job-name": "a2i/pw-evt-1-0011223344556677"}}

    def test_several_workers_majority_and_share(self):
        context = ManifestContext(human_loop_name=LOOP, dataset="undercut-worked", task_type=TaskType.CLASSIFICATION,
                                  source_ref="s3://r/t.json", classes=("position-kept", "undercut-worked"), image=False)
        line = manifest_line(context, output(
            ({"category": {"label": "undercut-worked"}}, "2026-11-22T10:00:03Z"),
            ({"category": {"label": "position-kept"}}, "2026-11-22T10:00:01Z"),
            ({"category": {"label": "undercut-worked"}}, "2026-11-22T10:00:02Z"),
        ))
        metadata = line["undercut-worked-metadata"]
        assert line["undercut-worked"] == 1 and metadata["class-name"] == "undercut-worked"
        assert metadata["confidence"] == pytest.approx(0.6667)
        assert metadata["creation-date"] == "2026-11-22T10:00:03.000000"  # the last submission

    def test_missing_label_names_the_field(self):
        context = ManifestContext(human_loop_name=LOOP, dataset="d", task_type=TaskType.CLASSIFICATION,
                                  source_ref="s3://r/t.json")
        with pytest.raises(ManifestError, match="answerContent.category.label"):
            manifest_line(context, output(({"category": {}}, "2026-11-22T10:00:03Z")))


def test_creation_date_is_utc_without_offset():
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 11, 22, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert creation_date(moment) == "2026-11-22T10:00:00.123456"
