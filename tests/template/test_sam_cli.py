"""template.yaml and the README's deploy commands through the SAM CLI itself (issue 14 items 4, 5).

- `sam validate --lint` and cfn-lint with the serverless rules (cfn-lint-serverless) find nothing;
  each check a resource ignores has its reason written beside it (`Metadata: cfn-lint:`).
- Every `sam deploy` command of the README's "Deploying to AWS" block runs through SAM's own option
  and samconfig.toml parsing (`sam deploy --debug` logs the arguments it expanded, parameter
  overrides included, before it first calls AWS; here AWS is a closed local port, so nothing is
  deployed): the parameters that would reach the stack are the ones the README promises.
- The built template (`make package`) points its AWS::Include documents at files that exist.

SAM CLI pins boto3 and cfn-lint against the project's pins, so it runs from its own venv
(`.venv-sam`, `make sam-venv` from requirements/sam.txt; `make test` builds it).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
from functools import cache
from pathlib import Path

from local.artifact.build import relocate_includes
from local.provision import load_template

ROOT = Path(__file__).resolve().parents[2]
SAM_BIN = ROOT / ".venv-sam" / "bin"
TEMPLATE = ROOT / "template.yaml"
WORK_TEAM = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/pitwall"


def tool(name: str) -> str:
    path = SAM_BIN / name
    assert path.exists(), f"{path} is missing: run `make sam-venv` (make test does)"
    return str(path)


def offline_env() -> dict[str, str]:
    """No telemetry, made-up keys, every AWS call to a closed port (nothing leaves the machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env | {"SAM_CLI_TELEMETRY": "0", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                  "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1",
                  "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


def run(args: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=300, check=False)


# --- item 5: sam validate --lint, cfn-lint-serverless -----------------------------------------------
def test_sam_validate_lint_is_clean():
    done = run([tool("sam"), "validate", "--lint", "--template-file", str(TEMPLATE)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def serverless_lint(template: Path) -> list[str]:
    done = run([tool("cfn-lint"), "--append-rules", "cfn_lint_serverless.rules", "--format", "parseable",
                "--", str(template)])
    assert done.returncode in (0, 2, 4, 6, 8, 10, 12, 14), done.stderr  # bit 1 would be cfn-lint's own failure
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_cfn_lint_with_the_serverless_rules_is_clean():
    findings = serverless_lint(TEMPLATE)
    assert findings == [], "\n".join(findings)


def test_the_serverless_rules_are_really_loaded(tmp_path):
    # A queue without a redrive policy is what ES6000 reports: the plugin runs, it is not silently absent.
    bare = tmp_path / "bare.yaml"
    bare.write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    assert any(":ES6000:" in line for line in serverless_lint(bare))


def test_every_ignored_cfn_lint_check_has_its_reason_beside_it():
    text = TEMPLATE.read_text()
    ignored = {name: res["Metadata"]["cfn-lint"]["config"]["ignore_checks"]
               for name, res in load_template(TEMPLATE)["Resources"].items()
               if "cfn-lint" in (res.get("Metadata") or {})}
    assert ignored, "expected the explained ignores of the dead-letter queues"
    for name, checks in ignored.items():
        block = re.search(rf"^  {name}:\n(.*?)(?=^  \S|\Z)", text, re.M | re.S)
        assert block, name
        for check in checks:
            # "# CHECK (what it asks): why not here", over as many comment lines as it takes.
            reason = re.search(rf"# {check} \([^)]*\): (.+?)\n\s*ignore_checks", block.group(1), re.S)
            words = reason.group(1).replace("#", " ").split() if reason else []
            assert len(words) >= 6, f"{name} ignores {check} without a reason"


# --- item 4: the README's deploy commands, as SAM parses them ---------------------------------------
def readme_deploy_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deploying to AWS", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "no command block in the README's deploy section"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line.startswith("sam deploy")]


def parsed_deploy(command: str, cwd: Path = ROOT) -> dict[str, object]:
    """The arguments `sam deploy --debug` says it expanded `command` (and samconfig.toml) to."""
    args = shlex.split(command)
    assert args[:2] == ["sam", "deploy"], command
    done = run([tool("sam"), "deploy", "--debug", *args[2:]], cwd=cwd)
    log = done.stdout + done.stderr
    expanded = re.search(r"Expand command line arguments to:\n[^|]*\| (.*)", log)
    assert expanded, log[-3000:]
    line = expanded.group(1)
    found: dict[str, object] = {"line": line}
    overrides = re.search(r"--parameter_overrides=(\{.*?\})(?= --|\s*$)", line)
    found["parameters"] = ast.literal_eval(overrides.group(1)) if overrides else {}
    stack = re.search(r"--stack_name=(\S+)", line)
    found["stack_name"] = stack.group(1) if stack else None
    found["confirm_changeset"] = "--confirm_changeset" in line.split()
    return found


@cache
def readme_parsed() -> dict[str, dict[str, object]]:
    return {command: parsed_deploy(command) for command in readme_deploy_commands()}


def test_the_readme_documents_the_dev_and_prod_deploys():
    assert readme_deploy_commands() == ["sam deploy", "sam deploy --config-env prod"]


def test_each_readme_deploy_reaches_the_stack_with_both_pii_fields_and_its_stage():
    expected = {"sam deploy": ("pitwall-dev", "dev", False), "sam deploy --config-env prod": ("pitwall-prod", "prod", True)}
    declared = set(load_template(TEMPLATE)["Parameters"])
    for command, parsed in readme_parsed().items():
        parameters = parsed["parameters"]
        assert isinstance(parameters, dict)
        print(f"{command}: {parsed['line']}")  # the --debug parameter line, for the record
        # Tweet2 holds the golden record's SSN and card numbers: it must arrive whole, not as "Tweet1,".
        assert parameters["PiiFields"] == "Tweet1,Tweet2", command
        assert set(parameters) <= declared, set(parameters) - declared
        stack, stage, confirm = expected[command]
        assert (parsed["stack_name"], parameters["Stage"], parsed["confirm_changeset"]) == (stack, stage, confirm)
        assert "WorkTeamArn" not in parameters  # review off until a work team is added (README says how)


def test_the_old_readme_command_is_what_this_test_catches():
    # The README's command before issue 14: SAM splits overrides on spaces, so PiiFields is "Tweet1,".
    parsed = parsed_deploy('sam deploy --parameter-overrides Stage=prod PiiFields="Tweet1, Tweet2"')
    assert parsed["parameters"]["PiiFields"] == "Tweet1,"


def test_a_work_team_added_to_samconfig_as_the_readme_says_reaches_the_stack_with_the_rest(tmp_path):
    shutil.copy(TEMPLATE, tmp_path / "template.yaml")
    config = (ROOT / "samconfig.toml").read_text()
    prod = config.index("[prod.deploy.parameters]")
    start = config.index("parameter_overrides = [\n", prod) + len("parameter_overrides = [\n")
    # The line the README gives, with a real-looking ARN in place of REGION/ACCOUNT/NAME.
    readme = (ROOT / "README.md").read_text()
    [item] = re.findall(r'`("WorkTeamArn=arn:aws:sagemaker:REGION:ACCOUNT:workteam/private-crowd/NAME",)`', readme)
    item = item.replace("REGION", "us-east-1").replace("ACCOUNT", "123456789012").replace("NAME", "pitwall")
    (tmp_path / "samconfig.toml").write_text(config[:start] + f"  {item}\n" + config[start:])
    parameters = parsed_deploy("sam deploy --config-env prod", cwd=tmp_path)["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["WorkTeamArn"] == WORK_TEAM
    assert (parameters["PiiFields"], parameters["Stage"]) == ("Tweet1,Tweet2", "prod")


def test_the_built_template_finds_its_included_openapi_documents(tmp_path):
    out = tmp_path / ".aws-sam" / "build"  # where `make package` writes it (a folder that exists)
    out.mkdir(parents=True)
    built = relocate_includes(load_template(TEMPLATE), TEMPLATE.parent, out)
    locations = re.findall(r"'Location': '([^']+)'", repr(built))
    assert len(locations) == 2
    for location in locations:
        assert (out / location).resolve().is_file(), location
        assert (out / location).resolve().parent == ROOT / "docs" / "openapi"
    # SAM's own packager (what `sam deploy` runs on the built template) finds and uploads each one.
    program = (
        "import json, sys\n"
        "from samcli.lib.package.packageable_resources import include_transform_export_handler as export\n"
        "class Uploader:\n"
        "    def upload_with_dedup(self, path): return 's3://uploaded/' + path\n"
        "for location in json.loads(sys.argv[2]):\n"
        "    done = export({'Name': 'AWS::Include', 'Parameters': {'Location': location}}, Uploader(), sys.argv[1])\n"
        "    print(done['Parameters']['Location'])\n")
    done = run([tool("python"), "-c", program, str(out), json.dumps(locations)])
    assert done.returncode == 0, done.stderr[-2000:]
    uploaded = [Path(line.removeprefix("s3://uploaded/")).resolve() for line in done.stdout.split()]
    assert uploaded == [(out / location).resolve() for location in locations]
