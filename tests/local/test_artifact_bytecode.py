"""The artifact ships each module's bytecode for the runtime's Python, and the check says when not.

Lambda's code folders are read-only: a module shipped without its .pyc is compiled again at every
cold start (bench/race_predictor_inference.py measures what that costs)."""

from __future__ import annotations

import sys
from pathlib import Path

from local.artifact.build import Target, compile_bytecode
from local.artifact.check import compiled_problems, missing_bytecode

RUNTIME = Target("x86_64", f"python{sys.version_info.major}.{sys.version_info.minor}")
OTHER = Target("x86_64", "python3.9")


def _package(root: Path) -> Path:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("VALUE = 1\n")
    (root / "pkg" / "sub" / "mod.py").write_text("def f():\n    return 2\n")
    return root


def test_every_module_gets_bytecode_that_the_check_accepts(tmp_path: Path) -> None:
    root = _package(tmp_path)
    assert missing_bytecode(root) == ["pkg/__init__.py", "pkg/sub/mod.py"]

    compile_bytecode(root, RUNTIME)

    assert missing_bytecode(root) == []
    assert compiled_problems(root, RUNTIME) == []
    # unchecked-hash pycs (flags word = 0b01): valid whatever times the zip gives the files
    pyc = next((root / "pkg" / "sub" / "__pycache__").glob("mod.*.pyc"))
    assert int.from_bytes(pyc.read_bytes()[4:8], "little") == 0b01


def test_bytecode_of_another_python_is_a_problem(tmp_path: Path) -> None:
    root = _package(tmp_path)
    compile_bytecode(root, RUNTIME)
    pyc = next((root / "pkg" / "__pycache__").glob("__init__.*.pyc"))
    pyc.write_bytes(b"\x00\x00\r\n" + pyc.read_bytes()[4:])  # another interpreter's magic number
    foreign = root / "pkg" / "__pycache__" / "__init__.cpython-39.pyc"
    foreign.write_bytes(pyc.read_bytes())

    problems = compiled_problems(root, RUNTIME)

    assert any(p.startswith(f"pkg/__pycache__/{pyc.name} is bytecode for another Python") for p in problems)
    assert any(p.startswith("pkg/__pycache__/__init__.cpython-39.pyc is bytecode for another Python") for p in problems)


def test_another_runtime_gets_no_bytecode_from_this_interpreter(tmp_path: Path) -> None:
    root = _package(tmp_path)
    compile_bytecode(root, OTHER)
    assert len(missing_bytecode(root)) == 2


def test_the_import_probe_gives_handlers_their_environment_as_a_default_deploy_would() -> None:
    from local.artifact.check import _as_deployed

    document = {"Parameters": {"Band": {"Type": "String", "Default": ""}, "Tps": {"Type": "String", "Default": "20"}},
                "Mappings": {"Quota": {"20": {"Reserved": "1"}}}}
    assert _as_deployed({"Ref": "Band"}, document) == ""  # an empty default is a value, not a placeholder
    assert _as_deployed({"Fn::FindInMap": ["Quota", {"Ref": "Tps"}, "Reserved"]}, document) == "1"
    assert _as_deployed(5, document) == "5"
    assert _as_deployed({"Fn::GetAtt": ["Bucket", "Arn"]}, document) is None  # only AWS knows it
