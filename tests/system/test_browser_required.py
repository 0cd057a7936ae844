"""Issue 16 item 10: a missing Chromium fails the browser tests unless ALLOW_NO_BROWSER=1 says to accept it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.conftest import refuse_missing_browser

MISSING = Path("/nonexistent/chromium")


def _outcome() -> tuple[str, str]:
    """What refuse_missing_browser ends in: ('failed'|'skipped'|'returned', message). A skip is caught here,
    so a build that skips instead of failing turns this test red rather than skipping it."""
    try:
        refuse_missing_browser(MISSING)
    except pytest.fail.Exception as failed:
        return "failed", str(failed)
    except pytest.skip.Exception as skipped:
        return "skipped", str(skipped)
    return "returned", ""


def test_missing_browser_is_a_failure_by_default(monkeypatch):
    monkeypatch.delenv("ALLOW_NO_BROWSER", raising=False)
    kind, message = _outcome()
    assert kind == "failed"
    assert "apt-get install -y chromium" in message and "ALLOW_NO_BROWSER=1" in message


@pytest.mark.parametrize("value", ["0", "yes", ""])
def test_only_allow_no_browser_1_turns_it_into_a_skip(monkeypatch, value):
    monkeypatch.setenv("ALLOW_NO_BROWSER", value)
    assert _outcome()[0] == "failed"
    monkeypatch.setenv("ALLOW_NO_BROWSER", "1")
    assert _outcome()[0] == "skipped"
