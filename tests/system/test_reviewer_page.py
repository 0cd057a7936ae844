"""The reviewer page in headless Chromium: a person answers a loop with a drawn box.

A ReviewCandidate below the custom-labels threshold starts a loop; Playwright opens the page,
removes the model's box, draws a new one, submits; the completion function turns A2I's output into
a manifest line, which the test reads back from S3. Chromium is Debian's (`apt-get install
chromium`), launched by path because browsers cannot be downloaded here.
"""

from __future__ import annotations

import json
import struct
import zlib

import boto3
import pytest

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from tests.service import human_review_env
from tests.service.human_review_env import (
    BUCKET,
    REGION,
    LambdaContext,
    bridge_event,
    sqs_event,
)

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests

WIDTH, HEIGHT = 320, 240

pytestmark = pytest.mark.browser


def png(width: int, height: int) -> bytes:
    """A small grey PNG with a darker square, written by hand so the test needs no image library."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            shade = 60 if 80 <= x < 200 and 60 <= y < 180 else 200
            row += bytes([shade, shade, shade])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b"")


@pytest.fixture
def browser(chromium):
    """Debian's headless Chromium (tests/system/conftest.py); skips naming the install command."""
    return chromium


def test_reviewer_draws_a_box_and_the_manifest_line_lands_in_s3(review_env, browser):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="frames")
    s3.put_object(Bucket="frames", Key="lap12/frame-0042.png", Body=png(WIDTH, HEIGHT), ContentType="image/png")
    data = {"review_policy": "custom-labels", "model_id": "pit-objects-v3", "task_type": "object-detection",
            "task_object_s3_uri": "s3://frames/lap12/frame-0042.png", "score_scale": 100,
            "labels": [{"label": "car", "score": 48.0,
                        "bounding_box": {"left": 0.05, "top": 0.05, "width": 0.2, "height": 0.2}}]}
    event = bridge_event("ReviewCandidate", data, source="acme.vision", event_id="frame-0042")
    assert handlers.trigger_handler(sqs_event(event), LambdaContext()) == {"batchItemFailures": []}
    name = human_loop_name("frame-0042")

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{review_env.a2i_url}/review/")
    page.locator(f'#loops button[data-loop="{name}"]').click()
    page.wait_for_selector(".stage svg rect.box")  # the model's box, drawn once the image loaded
    assert page.locator("#labels tbody").inner_text().startswith("car")

    # Edit: select the model's box and delete it with the keyboard.
    page.locator(".stage svg rect.box").first.click()
    page.keyboard.press("Delete")
    assert page.locator(".stage svg rect.box").count() == 0

    # Draw: a "tyre" box from (20 %, 25 %) to (70 %, 75 %) of the image.
    page.select_option("#new-label", "tyre")
    area = page.locator(".stage svg").bounding_box()
    page.mouse.move(area["x"] + 0.20 * area["width"], area["y"] + 0.25 * area["height"])
    page.mouse.down()
    page.mouse.move(area["x"] + 0.45 * area["width"], area["y"] + 0.5 * area["height"], steps=5)
    page.mouse.move(area["x"] + 0.70 * area["width"], area["y"] + 0.75 * area["height"], steps=5)
    page.mouse.up()
    assert page.locator(".stage svg rect.box").count() == 1
    assert page.locator("#boxes li").count() == 1

    page.locator("#submit").click()
    # (a locator wait, not wait_for_function: the page's CSP forbids the eval that one needs)
    page.locator("#status", has_text="Submitted").wait_for()
    assert page.locator(f'#loops button[data-loop="{name}"]').count() == 0  # no longer open
    page.close()

    changes = review_env.status_changes()
    assert [change["detail"]["humanLoopStatus"] for change in changes] == ["Completed"]
    assert handlers.completion_handler(sqs_event(*changes), LambdaContext()) == {"batchItemFailures": []}
    body = s3.get_object(Bucket=BUCKET, Key=f"manifests/parts/pit-objects/{name}.jsonl")["Body"].read()
    line = json.loads(body)
    assert line["source-ref"] == "s3://frames/lap12/frame-0042.png"
    assert line["pit-objects_BB"]["image_size"] == [{"width": WIDTH, "height": HEIGHT, "depth": 3}]
    [box] = line["pit-objects_BB"]["annotations"]
    assert box["class_id"] == 1  # "tyre" in the custom-labels policy's classes
    expected = {"left": 0.20 * WIDTH, "top": 0.25 * HEIGHT, "width": 0.5 * WIDTH, "height": 0.5 * HEIGHT}
    for key, value in expected.items():
        assert abs(box[key] - value) <= 2, (key, box[key], value)
    metadata = line["pit-objects_BB-metadata"]
    assert metadata["job-name"] == f"a2i/{name}" and metadata["human-annotated"] == "yes"
    assert metadata["type"] == "groundtruth/object-detection" and metadata["objects"] == [{"confidence": 1}]
