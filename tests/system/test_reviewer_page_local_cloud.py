"""Human review through the whole local cloud, as `template.yaml` wires it.

A ReviewCandidate on the Pitwall bus → rule → trigger queue → ReviewTriggerFunction (in its worker)
→ loop in the A2I emulator; a person answers on the reviewer page in headless Chromium; the
emulator puts the status change on the default bus → rule → status queue → ReviewCompletionFunction
→ manifest part in S3. Then `make run`'s demo (a PII review answered through the page's API, a
retrain reading the manifests) on the same cloud.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from human_review.logic.loop_names import human_loop_name
from local.cloud import LocalCloud
from local.demos.human_review import run_demo
from local.provision import LOCAL_TASK_OBJECT_BUCKET, LOCAL_WORK_TEAM_ARN
from tests.polling import wait_for
from tests.system import test_reviewer_page as page_test

pytestmark = [pytest.mark.system, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
browser = page_test.browser  # the Chromium fixture (skips with the reason when Chromium is missing)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    with LocalCloud(ROOT / "template.yaml", log_dir=tmp_path_factory.mktemp("logs")) as running:
        yield running


def test_the_stack_created_its_flow_definition_through_the_custom_resource(cloud):
    # template.yaml's Custom::A2iFlowDefinition ran ReviewA2iSetupFunction while the stack was created
    # (the local cloud deploys with a work team, so review is on); the loops below run on what it made.
    [request] = [r for r in cloud.custom_resources.requests if r["LogicalResourceId"] == "ReviewFlowDefinition"]
    assert request["RequestType"] == "Create"
    arn = cloud.physical_id("ReviewFlowDefinition")
    sagemaker = cloud.client("sagemaker")
    flow = sagemaker.describe_flow_definition(FlowDefinitionName=arn.rsplit("/", 1)[-1])
    assert flow["FlowDefinitionArn"] == arn and flow["FlowDefinitionStatus"] == "Active"
    assert flow["OutputConfig"]["S3OutputPath"] == f"s3://{cloud.physical_id('ReviewManifestsBucket')}/a2i-output"
    assert flow["HumanLoopConfig"]["WorkteamArn"] == LOCAL_WORK_TEAM_ARN
    assert flow["RoleArn"].endswith(cloud.physical_id("ReviewA2iExecutionRole"))
    environment = cloud.client("lambda").get_function_configuration(
        FunctionName=cloud.physical_id("ReviewTriggerFunction"))["Environment"]["Variables"]
    assert environment["DEFAULT_FLOW_DEFINITION_ARN"] == arn


def test_a_person_answers_on_the_page_and_the_line_reaches_s3(cloud, browser):
    s3 = cloud.client("s3")
    bucket = cloud.physical_id("ReviewManifestsBucket")
    frames = LOCAL_TASK_OBJECT_BUCKET  # the one the local stack lists (ReviewTaskObjectBuckets)
    s3.create_bucket(Bucket=frames)
    s3.put_object(Bucket=frames, Key="frames/pit-stop.png", Body=page_test.png(page_test.WIDTH, page_test.HEIGHT),
                  ContentType="image/png")
    event_id = f"system-frame-{time.time_ns()}"
    detail = {"event_id": event_id, "correlation_id": event_id, "occurred_at": "2026-11-22T10:00:00.000Z",
              "schema_version": "1",
              "data": {"review_policy": "custom-labels", "model_id": "pit-objects-v3", "task_type": "object-detection",
                       "task_object_s3_uri": f"s3://{frames}/frames/pit-stop.png", "score_scale": 100, "labels": []}}
    # The same candidate from a source the stack does not list (ReviewCandidateSources): the rule does not
    # match it, so it never becomes a loop (issue 16 item 6).
    foreign = detail | {"event_id": f"{event_id}-foreign", "correlation_id": f"{event_id}-foreign"}
    cloud.client("events").put_events(Entries=[
        {"Source": "evil.corp", "DetailType": "ReviewCandidate", "Detail": json.dumps(foreign),
         "EventBusName": cloud.physical_id("PitwallBus")},
        {"Source": "acme.vision", "DetailType": "ReviewCandidate", "Detail": json.dumps(detail),
         "EventBusName": cloud.physical_id("PitwallBus")}])
    a2i_url = cloud.emulators["a2i"].url

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{a2i_url}/review/")

    def loop_listed():
        page.locator("#refresh").click()
        buttons = page.locator("#loops button[data-loop^='pw-system-frame']")
        return buttons.first.get_attribute("data-loop") if buttons.count() else None

    name = wait_for(loop_listed, what="loop on the reviewer page")
    page.locator(f'#loops button[data-loop="{name}"]').click()
    page.wait_for_selector(".stage svg")
    assert "No label" in page.locator("#labels tbody").inner_text()  # the no-label case went to review
    page.select_option("#new-label", "crew-member")
    area = page.locator(".stage svg").bounding_box()
    page.mouse.move(area["x"] + 0.5 * area["width"], area["y"] + 0.5 * area["height"])
    page.mouse.down()
    page.mouse.move(area["x"] + 0.9 * area["width"], area["y"] + 0.9 * area["height"], steps=8)
    page.mouse.up()
    page.locator("#submit").click()
    page.locator("#status", has_text="Submitted").wait_for()  # no wait_for_function: the page's CSP forbids eval
    page.close()

    key = f"manifests/parts/pit-objects/{name}.jsonl"

    def part():
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read() if listed else None

    line = json.loads(wait_for(part, what="manifest part in S3"))
    assert line["source-ref"] == f"s3://{frames}/frames/pit-stop.png"
    cloud.wait_until_drained()
    try:
        urllib.request.urlopen(f"{a2i_url}/human-loops/{human_loop_name(event_id + '-foreign')}", timeout=5)  # noqa: S310
        raise AssertionError("a ReviewCandidate from an unlisted source became a loop")
    except urllib.error.HTTPError as error:
        assert error.code == 404
    [box] = line["pit-objects_BB"]["annotations"]
    assert box["class_id"] == 2 and abs(box["left"] - 0.5 * page_test.WIDTH) <= 2
    assert abs(box["width"] - 0.4 * page_test.WIDTH) <= 2 and abs(box["height"] - 0.4 * page_test.HEIGHT) <= 2
    item = cloud.client("dynamodb").get_item(TableName=cloud.physical_id("ReviewLoopsTable"),
                                             Key={"human_loop_name": {"S": name}})["Item"]
    assert item["status"]["S"] == "Completed" and item["corrected_label"]["S"] == "crew-member"


def test_make_run_demo_answers_a_pii_review_and_retrains_from_the_manifests(cloud):
    summary = run_demo(cloud)
    annotations = summary["PII manifest line (Comprehend entity format)"]
    assert annotations["entities"] == [{"startOffset": 17, "endOffset": 28, "label": "NAME"}]
    assert summary["PII manifest part"].startswith(f"s3://{cloud.physical_id('PiiRawBucket')}/pii-review/manifests/")
    assert summary["loops started by policy"].get("pii-span", 0) >= 1
    assert "faceoff" not in summary["loops started by policy"]  # forecasts start no loop (issue 19)
    assert summary["manifest lines written"]["raw-PII bucket (PII)"] >= 1
    pit_battle_lines = (summary["forecasts closed by ground truth"].get("pit-battle-swap", 0)
                        + summary["manifest lines written"]["human-answered"].get("pit-battle-swap", 0))
    assert summary["retrain figures"]["manifest_lines"] == pit_battle_lines  # the retrain read what was written
