"""The reviewer page in headless Chromium shows a PII span task (issue 19): the text, read from the
task object in the raw-PII bucket (the loop carries offsets only), with each candidate span marked
and a type to choose; the reviewer keeps one span as NAME, marks the other not PII, submits; the
completion function writes the Comprehend entity line to the raw-PII bucket."""

from __future__ import annotations

import json

import boto3
import pytest

from human_review import handlers
from human_review.logic.loop_names import human_loop_name
from tests.service import human_review_env
from tests.service.human_review_env import PII_BUCKET, REGION, LambdaContext, sqs_event
from tests.service.test_human_review_pii_review import NAME, PHONE, TEXT, pii_candidate

review_env = human_review_env.review_env

pytestmark = pytest.mark.browser


def test_reviewer_page_shows_the_pii_span_task_and_its_answer_lands_in_the_raw_pii_bucket(review_env, chromium):
    assert handlers.trigger_handler(sqs_event(pii_candidate("pii-page")), LambdaContext()) == {"batchItemFailures": []}
    name = human_loop_name("pii-page")
    assert "Jordan" not in review_env.a2i.loops[name].input_content  # the page can only get it from the object

    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{review_env.a2i_url}/review/")
    button = page.locator(f'#loops button[data-loop="{name}"]')
    assert "Check PII spans" in button.inner_text()
    button.click()
    page.wait_for_selector("#pii-text mark")
    assert page.locator("#task-title").inner_text().startswith("Is each highlighted span personal data")
    assert page.locator("#pii-text").inner_text() == TEXT
    assert page.locator("#pii-text mark").all_inner_texts() == [TEXT[slice(*NAME)], TEXT[slice(*PHONE)]]
    selects = page.locator("#pii-spans select")
    assert selects.count() == 2
    assert [selects.nth(i).input_value() for i in range(2)] == ["NAME", "PHONE"]  # the model's types first
    assert page.locator("#classify").is_hidden()
    selects.nth(1).select_option("NOT_PII")
    page.locator("#submit").click()
    page.wait_for_selector("#status.ok")

    assert handlers.completion_handler(sqs_event(*review_env.status_changes()), LambdaContext()) == {
        "batchItemFailures": []}
    key = f"pii-review/manifests/parts/pii-entities/{name}.jsonl"
    line = json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=PII_BUCKET, Key=key)["Body"].read())
    assert line["source"] == TEXT
    assert line["pii-entities"]["annotations"]["entities"] == [
        {"startOffset": NAME[0], "endOffset": NAME[1], "label": "NAME"}]
