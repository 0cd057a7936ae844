"""checkov on template.yaml (issue 8, security 1): no failed check; every skipped check carries its
written justification next to the resource (`# checkov:skip=CKV_...:reason` in template.yaml).

checkov pins boto3 1.35, which the project's own pins exclude, so it runs from its own venv
(`.venv-checkov`, built by `make checkov-venv` from requirements/checkov.txt; `make test` builds it).
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache

from tests.security.iam_policies import ROOT

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


@cache
def _report() -> dict:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make checkov-venv` (make test does)"
    result = subprocess.run([str(CHECKOV), "-f", str(ROOT / "template.yaml"), "--framework", "cloudformation",
                             "--compact", "-o", "json"], capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_failed_check():
    report = _report()
    failed = [f"{f['check_id']} {f['resource']}: {f['check_name']}" for f in report["results"]["failed_checks"]]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    assert not failed, "\n".join(failed)


def test_every_skipped_check_is_justified_next_to_its_resource():
    report = _report()
    skipped = report["results"]["skipped_checks"]
    assert skipped, "expected the justified skips of template.yaml"
    text = (ROOT / "template.yaml").read_text()
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.split()) >= 6, f"{check['check_id']} on {check['resource']}: justification too thin"
        name = check["resource"].split(".", 1)[1]
        block = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text, re.M | re.S)
        assert block and f"checkov:skip={check['check_id']}:" in block.group(1), check["resource"]
