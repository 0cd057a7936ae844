"""The reviewer page in headless Chromium shows the face-off setup task's rink picture (issue 19 item 2).

An unsure FaceoffPredicted set-up starts a `faceoff-setup` loop; the page shows the players'
positions at detection as an image (an SVG data: URI the page's CSP allows), the reviewer confirms
dot and takers, and the manifest line it becomes is an example for `ml/nhl/fit_setup_rule.py`.
"""

from __future__ import annotations

import json

import boto3
import pytest

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from ml.nhl.fit_setup_rule import ManifestExample, manifest_examples
from tests.service import human_review_env
from tests.service.human_review_env import BUCKET, REGION, LambdaContext, bridge_event, sqs_event
from tests.service.test_faceoff_setup_review import setup_faceoff

review_env = human_review_env.review_env

pytestmark = pytest.mark.browser


def test_reviewer_sees_the_rink_picture_and_confirms_the_setup(review_env, chromium, tmp_path):
    event = bridge_event("FaceoffPredicted", setup_faceoff(0.1), event_id="nhl:g2:3:0:neutral_-x_+y:8478402:8471675")
    assert handlers.trigger_handler(sqs_event(event), LambdaContext()) == {"batchItemFailures": []}
    name = human_loop_name("nhl:g2:3:0:neutral_-x_+y:8478402:8471675#faceoff-setup")

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{review_env.a2i_url}/review/")
    page.locator(f'#loops button[data-loop="{name}"]').click()
    picture = page.locator("#content img.rink")
    picture.wait_for()
    assert page.locator("#task-title").inner_text() == "Was the face-off at this dot, with these two takers?"
    # Decoded and laid out: an SVG the CSP refused (or a broken one) has no natural size.
    assert picture.evaluate("image => image.decode().then(() => [image.naturalWidth, image.naturalHeight])") == [600, 255]
    box = picture.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert picture.get_attribute("src").startswith("data:image/svg+xml;base64,")
    labels = page.locator("#classes label").all_inner_texts()
    assert [text.strip() for text in labels] == ["setup-right", "wrong-dot", "wrong-takers", "cannot-tell"]
    assert not [e for e in errors if "Content Security Policy" in e], errors

    page.locator('#classes input[value="setup-right"]').check()
    page.locator("#submit").click()
    page.locator("#status", has_text="Submitted").wait_for()
    page.close()

    assert handlers.completion_handler(sqs_event(*review_env.status_changes()), LambdaContext()) == {
        "batchItemFailures": []}
    body = boto3.client("s3", region_name=REGION).get_object(
        Bucket=BUCKET, Key=f"manifests/parts/faceoff-setup/{name}.jsonl")["Body"].read()
    manifest = tmp_path / "parts.jsonl"
    manifest.write_bytes(body)
    assert json.loads(body)["faceoff-setup-metadata"]["class-name"] == "setup-right"
    assert manifest_examples([manifest]) == [ManifestExample(6.4, 3.1, True)]
