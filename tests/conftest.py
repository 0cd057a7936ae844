"""Suite-wide setup: the Hypothesis profiles (tests/hypothesis_profiles.py). `pitwall-ci` is loaded
here, so `make test` and a bare `pytest` are derandomised; `pytest --hypothesis-profile=fuzz`
(`make fuzz`) loads the deep one after this file is read."""

from __future__ import annotations

from hypothesis import settings

from tests.hypothesis_profiles import CI_PROFILE, register

register()
settings.load_profile(CI_PROFILE)
