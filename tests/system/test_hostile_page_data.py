"""Event data is text on both pages (issue 16.5): an event with `<img src=x onerror=...>` (and a
`<script>`) in every field it carries is shown literally on the dashboard and on the reviewer page,
and nothing of it runs. Both pages send a Content-Security-Policy; a task object served as HTML
cannot run script on the reviewer's origin either.

The dashboard is fed through its own reducers (`apply_event`, what the bus feed calls for every
event); the reviewer page gets a loop through the A2I emulator's StartHumanLoop.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from werkzeug.serving import make_server

from local.dashboard.server import DashboardApp, Hub
from local.dashboard.state import DashboardState, apply_event
from tests.service import human_review_env
from tests.service.human_review_env import FLOW, REGION

review_env = human_review_env.review_env  # the fixture, shared by the human-review tests

pytestmark = pytest.mark.browser

# Each payload counts its own run in window.__ran: the test asserts the counter never exists.
IMG = '<img src=x onerror="window.__ran=(window.__ran||0)+1">'
SCRIPT = '<script>window.__ran=(window.__ran||0)+1</script>'
HOSTILE = f"{IMG}{SCRIPT}"


def _hostile_events() -> list[tuple[str, dict[str, Any]]]:
    """One event of every type the dashboard shows, every string field hostile (numbers too, as text)."""
    h = HOSTILE
    battle = {"race_id": h, "circuit": h, "season": h, "battle_id": h, "lap": h, "opened_lap": h,
              "ahead_driver": h, "behind_driver": h, "first_stopper": h, "kind": h, "swap_probability": h,
              "predicted_gap_s": h, "confidence": h}
    return [
        ("PitBattlePredicted", battle),
        ("PitBattleResolved", {"race_id": h, "battle_id": h, "status": h, "swapped": h, "gap_s": h}),
        ("FaceoffPredicted", {"game_id": h, "period": h, "dot": {"name": h, "zone": h, "x_ft": h, "y_ft": h},
                              "home_player_id": h, "away_player_id": h, "home_player_name": h,
                              "away_player_name": h, "home_win_probability": h, "trigger": h, "model_version": h}),
        ("PiiRedactionReport", {"records": {"total": 1, "ok": 1}, "entities": {h: 1}}),
        ("ComprehendUsage", {"usage": [{"api": h, "requests": 1, "characters": 1, "billed_units": 1}]}),
        ("EndpointRightsizingRecommended", {"endpoint_name": h, "peak_characters_per_second": h,
                                            "configured_inference_units": h, "recommended_inference_units": h,
                                            "projected_daily_saving": h, "direction": h}),
        ("HumanReviewRequested", {"human_loop_name": h, "reason": h, "detail_type": h, "model_id": h,
                                  "predicted_label": h, "normalised_score": h, "task_type": h}),
        ("HumanReviewRequested", {"human_loop_name": "second", "reason": h}),
        ("HumanReviewCompleted", {"human_loop_name": "second", "status": h, "predicted_label": h,
                                  "corrected_label": h, "manifest_line": h}),
        (h, {}),  # an unknown detail type still reaches the ticker
    ]


class _Feed:
    def __init__(self) -> None:
        self.state = DashboardState()
        self.lock = threading.Lock()


@pytest.fixture
def dashboard() -> Iterator[tuple[str, _Feed]]:
    feed = _Feed()
    for detail_type, data in _hostile_events():
        apply_event(feed.state, detail_type, {"data": data, "occurred_at": "2026-12-04T00:00:00Z"})
    feed.state.pii["sample"] = {"Tweet1": HOSTILE}
    app = DashboardApp(feed, Hub(), {"reviewer": f"javascript:{SCRIPT}"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", feed
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _watch(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def test_dashboard_shows_hostile_event_data_as_text(dashboard, chromium):
    url, _feed = dashboard
    page = chromium.new_page()
    errors = _watch(page)
    response = page.goto(url)
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    for panel in ["panel-f1", "panel-nhl", "panel-pii", "panel-review", "panel-cost"]:
        page.wait_for_selector(f"#{panel}[data-filled='true']", timeout=10_000)
    page.wait_for_timeout(300)  # an onerror handler would have fired by now (x fails at once)
    assert page.evaluate("window.__ran") is None, "event data ran as script"
    assert page.locator("img[src='x'], script:not([src])").count() == 0
    shown = page.inner_text("main") + page.inner_text("#ticker")
    # Every panel shows the payload literally (as text), which is how a person sees the attempt.
    for panel in ["battles", "faceoff", "pii", "review", "cost"]:
        assert IMG in page.inner_text(f"#{panel}"), panel
    assert IMG in shown
    assert page.locator("#review a").count() == 0  # a javascript: link is not made a link
    assert errors == []


def test_reviewer_page_shows_hostile_task_data_as_text(review_env, chromium):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="frames")  # a bucket the stack lists (human_review_env.TASK_OBJECT_BUCKETS)
    s3.put_object(Bucket="frames", Key="evil.html", Body=f"<html><body>{HOSTILE}</body></html>".encode(),
                  ContentType="text/html")
    content = {"taskType": "classification", "policy": HOSTILE, "reason": HOSTILE, "modelId": HOSTILE,
               "text": HOSTILE, "classes": [HOSTILE, "car"], "scoreScale": 1,
               "labels": [{"label": HOSTILE, "score": 0.4}], "taskObject": "s3://frames/evil.html"}
    review_env.a2i.start_human_loop({"HumanLoopName": "hostile-loop", "FlowDefinitionArn": FLOW,
                                     "HumanLoopInput": {"InputContent": json.dumps(content)}})
    page = chromium.new_page()
    errors = _watch(page)
    response = page.goto(f"{review_env.a2i_url}/review/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    page.locator('#loops button[data-loop="hostile-loop"]').click()
    page.wait_for_selector("#labels tbody tr")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran") is None, "task data ran as script"
    assert page.locator("img[src='x'], script:not([src])").count() == 0
    for selector in ["#loops", "#task-facts", "#labels", "#content", "#classes"]:
        assert IMG in page.inner_text(selector), selector

    # The task object itself, opened directly: sandboxed, so its script cannot run on this origin.
    response = page.goto(f"{review_env.a2i_url}/review/api/loops/hostile-loop/object")
    assert response is not None
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran") is None, "the task object ran as script"
    assert errors == []
