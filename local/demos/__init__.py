"""Sample-stream demos that `make run` plays against the local cloud, one module per service.

Each module has `run_demo(cloud, options) -> dict` (or `run_demo(cloud)`) returning a summary for the terminal
table; `DEMOS` fixes the order they run in.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable
from typing import Any

DEMOS = ["cost", "pii", "race_f1", "race_nhl", "human_review"]


def available() -> list[tuple[str, Callable[..., dict[str, Any]]]]:
    """The demos present in this checkout, in order."""
    found = []
    for name in DEMOS:
        module_name = f"local.demos.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        found.append((name, importlib.import_module(module_name).run_demo))
    return found


def call(demo: Callable[..., dict[str, Any]], cloud: Any, options: Any) -> dict[str, Any]:
    """Run a demo, passing the command-line options to those that take them."""
    if len(inspect.signature(demo).parameters) >= 2:
        return demo(cloud, options)
    return demo(cloud)
