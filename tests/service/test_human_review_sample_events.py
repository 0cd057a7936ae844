"""The sample events in events/human_review/ run through the real handlers and match the contracts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from human_review import handlers
from tests.contracts import assert_valid_event
from tests.service import human_review_env
from tests.service.human_review_env import LambdaContext

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests
SAMPLES = Path(__file__).resolve().parents[2] / "events" / "human_review"


def sample(name):
    return json.loads((SAMPLES / name).read_text())


def detail_of(name):
    return json.loads(sample(name)["Records"][0]["body"])["detail"]


def test_trigger_samples_do_what_their_names_say(review_env):
    outcomes = {}
    for name in sorted(SAMPLES.glob("trigger_*.json")):
        before = set(review_env.a2i.loops)
        result = handlers.trigger_handler(sample(name.name), LambdaContext())
        outcomes[name.stem] = (len(result["batchItemFailures"]), len(set(review_env.a2i.loops) - before))
    assert outcomes == {
        "trigger_faceoff_low_confidence": (0, 1),
        "trigger_pit_battle_confident": (0, 0),
        "trigger_pii_review_candidate": (0, 1),  # its task object URI only; the trigger never reads the text
        "trigger_pit_battle_resolved": (0, 0),
        "trigger_poison_message": (1, 0),
        "trigger_review_candidate_custom_labels": (0, 1),
        "trigger_review_candidate_redacted_text": (0, 1),
    }


def test_completion_samples_parse_and_foreign_loops_are_ignored(review_env):
    for name in sorted(SAMPLES.glob("completion_*.json")):
        assert handlers.completion_handler(sample(name.name), LambdaContext()) == {"batchItemFailures": []}, name


@pytest.mark.parametrize(("name", "detail_type"), [
    ("trigger_review_candidate_custom_labels.json", "ReviewCandidate"),
    ("trigger_review_candidate_redacted_text.json", "ReviewCandidate"),
    ("trigger_faceoff_low_confidence.json", "FaceoffPredicted"),
    ("trigger_pit_battle_confident.json", "PitBattlePredicted"),
    ("trigger_pii_review_candidate.json", "PiiReviewCandidate"),
])
def test_trigger_samples_match_the_contracts(name, detail_type):
    # The prediction samples follow race_predictor's schemas, so the policies read real field names.
    assert_valid_event(detail_type, detail_of(name))


def test_test_builders_match_race_predictor_contracts():
    from tests.service.human_review_env import bridge_event, faceoff, pit_battle

    assert_valid_event("FaceoffPredicted", bridge_event("FaceoffPredicted", faceoff(0.5, 0.5))["detail"])
    assert_valid_event("PitBattlePredicted", bridge_event("PitBattlePredicted", pit_battle(0.3))["detail"])


def test_review_candidate_schema_rejects_what_the_service_rejects():
    detail = detail_of("trigger_review_candidate_custom_labels.json")
    both = detail | {"data": detail["data"] | {"task_text": "also text"}}
    with pytest.raises(AssertionError):
        assert_valid_event("ReviewCandidate", both)
    with pytest.raises(AssertionError, match="score_scale"):
        assert_valid_event("ReviewCandidate", detail | {"data": detail["data"] | {"score_scale": 10}})
