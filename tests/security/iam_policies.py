"""Each function's effective IAM grants, read from the translated template (SAM policies, event-source
policies SAM adds, managed policies), in a stable, comparable form.

Regenerate the checked-in allow-list after a deliberate change, then review the diff:

    .venv/bin/python -m tests.security.iam_policies > tests/security/iam_allowlist.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local.provision import LOCAL_PARAMETERS, translate

ROOT = Path(__file__).resolve().parents[2]
ALLOWLIST = Path(__file__).with_name("iam_allowlist.json")


def render(node: Any) -> str:
    """An intrinsic as text: GetAtt X.Arn, Ref X, or the Sub string."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (name, value), = node.items()
        if name == "Fn::GetAtt":
            return "GetAtt " + ".".join(value) if isinstance(value, list) else f"GetAtt {value}"
        if name == "Ref":
            return f"Ref {value}"
        if name == "Fn::Sub":
            return value if isinstance(value, str) else value[0]
        if name == "Fn::Join":
            return value[0].join(render(part) for part in value[1])
    return json.dumps(node, sort_keys=True)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def function_grants(cfn: dict[str, Any] | None = None) -> dict[str, Any]:
    """{function logical id: {"managed_policies": [...], "grants": [{"effect", "actions", "resources"}]}}."""
    cfn = cfn or translate(ROOT / "template.yaml", LOCAL_PARAMETERS).cfn
    resources = cfn["Resources"]
    out: dict[str, Any] = {}
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
        role = resources[role_id]["Properties"]
        grants = []
        for policy in role.get("Policies", []):
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                grants.append({
                    "effect": statement["Effect"],
                    "actions": sorted(_as_list(statement["Action"])),
                    "resources": sorted(render(r) for r in _as_list(statement["Resource"])),
                })
        out[logical_id] = {
            "managed_policies": sorted(render(arn) for arn in role.get("ManagedPolicyArns", [])),
            "grants": sorted(grants, key=lambda g: (g["actions"], g["resources"])),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(function_grants(), indent=2, sort_keys=True))
