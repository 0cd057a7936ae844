"""Waiting for the local cloud in tests: poll until a condition holds, or fail naming it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(predicate: Callable[[], Any], timeout_s: float = 60, interval_s: float = 0.2, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy (and return that); fail naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout_s:.0f} s")
        time.sleep(interval_s)
