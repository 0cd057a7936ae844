"""Issue 15: the four services share one skeleton (CONTRIBUTING.md, "Layout") and one event contract
(`pitwall_shared.events`), which no service declares again; each service README names every module
of its package (the one-line-per-module table stays true).

Reads files only; the import rules of the layout (pure logic/, AWS in adapters/) are import-linter's
(`.importlinter`, run by `make test`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("cost_calculator", "human_review", "pii_redaction", "race_predictor")
# Every service has these; `models` is a module or (race_predictor: one per sport) a package.
SKELETON = ("handlers.py", "settings.py", "factory.py", "logic/__init__.py", "logic/ports.py", "adapters/__init__.py")
HTTP_SERVICES = {"cost_calculator", "race_predictor"}  # api.py (Chalice) + routes/


def package(service: str) -> Path:
    return ROOT / "services" / service / service


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_the_skeleton(service):
    root = package(service)
    missing = [part for part in SKELETON if not (root / part).is_file()]
    if not ((root / "models.py").is_file() or (root / "models" / "__init__.py").is_file()):
        missing.append("models.py (or models/)")
    if service in HTTP_SERVICES:
        missing += [part for part in ("api.py", "routes/__init__.py") if not (root / part).is_file()]
    else:
        assert not (root / "api.py").exists(), f"{service} has no HTTP API, so no api.py"
    assert not missing, f"{service} lacks {', '.join(missing)} (CONTRIBUTING.md, Layout)"


@pytest.mark.parametrize("service", SERVICES)
def test_no_module_outside_the_skeleton_takes_a_retired_name(service):
    """The names issue 15 retired (config.py, usage_service.py, http_answers.py) do not come back."""
    retired = {"config.py", "usage_service.py", "http_answers.py"}
    found = sorted(path.name for path in package(service).glob("*.py") if path.name in retired)
    assert not found, f"{service}: {found} (use settings.py, logic/, routes/)"


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_readme_names_every_module(service):
    root = package(service)
    readme = (ROOT / "services" / service / "README.md").read_text(encoding="utf-8")
    # A table row names `logic/f1/state.py`; a layout tree names `f1/state.py` (or `state.py`) under
    # `logic/`: a module is named when a name in the README is its path or a tail of it.
    named = set(re.findall(r"[\w/]+\.py", readme))
    modules = [path.relative_to(root).as_posix() for path in sorted(root.rglob("*.py"))
               if path.name != "__init__.py" and "__pycache__" not in path.parts]
    unnamed = [module for module in modules
               if not any(module == name or module.endswith("/" + name) for name in named)]
    assert not unnamed, f"services/{service}/README.md does not name {unnamed}"


def test_no_service_redeclares_the_event_contract():
    """The envelope and the SQS-delivered bus event are `pitwall_shared.events`' (issue 15 item 2):
    no service declares its own (a `detail-type` alias or an `event_id` + `occurred_at` model)."""
    found = []
    for service in SERVICES:
        for path in sorted(package(service).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if re.search(r"""alias=["']detail-type["']""", text):
                found.append(f"{path.relative_to(ROOT)}: a bus event model (alias 'detail-type')")
            for body in re.findall(r"^class \w+\([^)]*\):\n((?:    .*\n|\n)+)", text, re.MULTILINE):
                if re.search(r"^    event_id:", body, re.MULTILINE) and re.search(r"^    occurred_at:", body, re.MULTILINE):
                    found.append(f"{path.relative_to(ROOT)}: an envelope model (event_id + occurred_at)")
    assert not found, found
