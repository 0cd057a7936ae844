"""Face-off setup review (issue 19 item 2): a FaceoffPredicted whose detection is unsure asks a person
"was the face-off at this dot, with these two takers?", shows the players on a rink, and the answer
becomes an example that `ml/nhl/fit_setup_rule.py --manifests` reads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from ml.nhl.fit_setup_rule import ManifestExample, manifest_examples
from tests.contracts import assert_valid_event
from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, REGION, LambdaContext, bridge_event, faceoff, sqs_event

review_env = human_review_env.review_env


def setup_faceoff(detection_confidence: float, *, forecast_confidence: float = 0.9) -> dict:
    """A FaceoffPredicted as race_predictor publishes it for a detected set-up (schema-checked below)."""
    data = faceoff(0.55, forecast_confidence)
    data["detection"] = {
        "label": "setup-right", "tracking": "broadcast", "confidence": detection_confidence,
        "max_distance_ft": 6.4, "max_speed_fps": 3.1,
        "players": [
            {"player_id": 8478402, "side": "home", "position": "C", "x_ft": -22.1, "y_ft": 24.0},
            {"player_id": 8471675, "side": "away", "position": "C", "x_ft": -17.9, "y_ft": 20.5},
            {"player_id": 8470001, "side": "home", "position": "L", "x_ft": -30.0, "y_ft": 10.0},
            {"player_id": 8470002, "side": "away", "position": "D", "x_ft": -5.0, "y_ft": 30.0},
        ],
    }
    return data


def deliver(*events: dict) -> None:
    assert handlers.trigger_handler(sqs_event(*events), LambdaContext()) == {"batchItemFailures": []}


def test_an_unsure_setup_asks_about_dot_and_takers_with_the_rink_picture_and_the_answer_feeds_the_refit(
        review_env, tmp_path: Path):
    data = setup_faceoff(0.12)
    event = bridge_event("FaceoffPredicted", data, event_id="nhl:g1:17:0:neutral_-x_+y:8478402:8471675")
    assert_valid_event("FaceoffPredicted", event["detail"])
    deliver(event)
    name = human_loop_name("nhl:g1:17:0:neutral_-x_+y:8478402:8471675#faceoff-setup")
    loop = review_env.a2i.loops[name]
    content = review_env.a2i.input_of(loop)
    assert content["policy"] == "faceoff-setup" and content["reason"] == "low_confidence"
    assert content["classes"] == ["setup-right", "wrong-dot", "wrong-takers", "cannot-tell"]
    assert content["prediction"]["detection"]["players"][0]["player_id"] == 8478402
    prefix = "data:image/svg+xml;base64,"
    assert content["picture"].startswith(prefix)
    svg = base64.b64decode(content["picture"][len(prefix):]).decode()
    assert svg.count('class="taker"') == 2 and svg.count('class="player"') == 2
    assert 'class="detected-dot" cx="240.0" cy="61.5"' in svg  # (-20, 22) ft at 3 px/ft
    # The forecast itself (confident) started no loop of its own.
    assert review_env.loop_item(human_loop_name("nhl:g1:17:0:neutral_-x_+y:8478402:8471675")) is None

    review_env.a2i.answer(name, {"category": {"label": "setup-right"}})
    assert handlers.completion_handler(sqs_event(*review_env.status_changes()), LambdaContext()) == {
        "batchItemFailures": []}
    s3 = boto3.client("s3", region_name=REGION)
    line = s3.get_object(Bucket=BUCKET, Key=f"manifests/parts/faceoff-setup/{name}.jsonl")["Body"].read().decode()
    assert json.loads(line)["faceoff-setup-metadata"]["class-name"] == "setup-right"

    manifest = tmp_path / "merged.jsonl"
    rejected = json.loads(line) | {"faceoff-setup-metadata": json.loads(line)["faceoff-setup-metadata"]
                                   | {"class-name": "wrong-takers"}}
    unsure = json.loads(line) | {"faceoff-setup-metadata": json.loads(line)["faceoff-setup-metadata"]
                                 | {"class-name": "cannot-tell"}}
    other = {"source-ref": "s3://x/y.json", "faceoff-winner": 1, "faceoff-winner-metadata": {"class-name": "home-wins"}}
    manifest.write_text("\n".join(json.dumps(item) for item in (json.loads(line), rejected, unsure, other)) + "\n")
    assert manifest_examples([manifest]) == [ManifestExample(6.4, 3.1, True), ManifestExample(6.4, 3.1, False)]


def test_a_sure_setup_or_a_forecast_without_detection_asks_nobody_about_the_setup(review_env):
    deliver(bridge_event("FaceoffPredicted", setup_faceoff(0.8), event_id="fo-sure"),
            bridge_event("FaceoffPredicted", faceoff(0.55, 0.9), event_id="fo-no-detection"))
    assert review_env.loop_item(human_loop_name("fo-sure#faceoff-setup")) is None
    assert review_env.loop_item(human_loop_name("fo-no-detection#faceoff-setup")) is None
    assert not any(name.endswith("faceoff-setup") for name in review_env.a2i.loops)


def test_a_redelivered_unsure_setup_starts_one_loop(review_env):
    event = bridge_event("FaceoffPredicted", setup_faceoff(0.05), event_id="fo-twice")
    deliver(event)
    deliver(event)
    assert [n for n in review_env.a2i.loops if n == human_loop_name("fo-twice#faceoff-setup")] == [
        human_loop_name("fo-twice#faceoff-setup")]
    assert len(review_env.published("HumanReviewRequested")) == 1
