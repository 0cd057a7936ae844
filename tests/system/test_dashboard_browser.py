"""The live dashboard in a real browser during a run of every service's sample stream.

Starts the local cloud with the dashboard, plays all demos at once (as `make run` does, fast),
and asserts that every panel fills with live data within 30 s, that the page logs no console
error, and that no raw PII from the golden record is on the page. Saves a screenshot to
`test-artifacts/dashboard.png`.
"""

from __future__ import annotations

import argparse
import threading
import time

import pytest

from local.cloud import LocalCloud
from local.demos import available, call
from tests.system.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.system]
PANELS = ["panel-f1", "panel-nhl", "panel-pii", "panel-review", "panel-cost"]
RAW_VALUES = ["SerdarvanBokhorst@dayrep.com", "548-95-6370", "5534816011668430", "818-828-6231"]


def test_every_panel_fills_with_live_data(chromium, tmp_path):
    # Without the shared data the demos use their simulators: this test is about the dashboard, and
    # parsing the historical CSVs in this process would only delay the first events.
    options = argparse.Namespace(speed=0.0, race=None, game=None, progress=None, data=tmp_path / "no-shared-data")
    with LocalCloud(stack_name="dashboard", log_dir=tmp_path / "logs", dashboard=True) as cloud:
        page = chromium.new_page(viewport={"width": 1500, "height": 1000})
        console_errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
        page.on("pageerror", lambda error: console_errors.append(str(error)))
        page.goto(cloud.dashboard_url)
        failures: dict[str, str] = {}

        def play(name, demo):
            try:
                call(demo, cloud, options)
            except Exception as error:  # reported by the assertion below
                failures[name] = f"{type(error).__name__}: {error}"

        threads = [threading.Thread(target=play, args=demo, daemon=True) for demo in available()]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for panel in PANELS:
            remaining_ms = max(1000, int((30 - (time.monotonic() - started)) * 1000))
            page.wait_for_selector(f"#{panel}[data-filled='true']", timeout=remaining_ms)
        filled_after = time.monotonic() - started
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        content = page.content()
        for thread in threads:
            thread.join(timeout=240)
    assert filled_after <= 30
    assert console_errors == []
    assert not [value for value in RAW_VALUES if value in content]
    assert failures == {}
