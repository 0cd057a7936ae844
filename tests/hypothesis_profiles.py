"""Hypothesis profiles of the suite (issue 16, item 3), registered and loaded by tests/conftest.py.

- `pitwall-ci` (the default, used by `make test` and CI): derandomised, so every run draws the
  same examples (the seed is a hash of each test; Hypothesis then keeps no database of its own),
  no deadline and no too-slow health check (timings on a shared machine are not a property), and
  a failure prints the blob that reproduces it.
- `fuzz` (`make fuzz`): random, `FUZZ_SCALE` (default 20) times the examples of each test, and
  a database of the failures found kept in the repository at `tests/fuzz/hypothesis-db/`, so the
  next `make fuzz` (anyone's) replays them first. A failure found there is copied into the suite
  as an explicit `@example`, which the derandomised `make test` then runs every time.

Tests that set their own number of examples write `@settings(max_examples=examples(150))` so that
`make fuzz` scales them too (an explicit `max_examples` would otherwise win over the profile).
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

CI_PROFILE = "pitwall-ci"
FUZZ_PROFILE = "fuzz"
FUZZ_DATABASE = Path(__file__).resolve().parent / "fuzz" / "hypothesis-db"
DEFAULT_EXAMPLES = 100  # Hypothesis' own default, kept for the CI profile


def fuzz_scale() -> int:
    return max(1, int(os.environ.get("FUZZ_SCALE", "20")))


def register() -> None:
    settings.register_profile(CI_PROFILE, derandomize=True, database=None, deadline=None, print_blob=True,
                              max_examples=DEFAULT_EXAMPLES,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile(FUZZ_PROFILE, derandomize=False, deadline=None, print_blob=True,
                              max_examples=DEFAULT_EXAMPLES * fuzz_scale(),
                              database=DirectoryBasedExampleDatabase(FUZZ_DATABASE),
                              suppress_health_check=[HealthCheck.too_slow])


def examples(count: int) -> int:
    """`count` examples under `make test`; `FUZZ_SCALE` times as many under `make fuzz`."""
    return count * fuzz_scale() if settings.get_current_profile_name() == FUZZ_PROFILE else count
