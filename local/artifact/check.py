"""Inspects a built artifact: what would fail a function's first cold start in AWS, found here.

For every function, with its layers: each compiled file (ELF header) is for the function's CPU and
each Python extension for the runtime's ABI; each wheel's tags (`*.dist-info/WHEEL`) fit the
runtime's CPU, ABI and glibc; each bytecode file (`.pyc`) is for the runtime's Python (its magic
number) and the modules of the function's own code ship with theirs; each layer was built for the function's architecture and lists its
runtime; the tests' interpreter is the runtime's Python version; the handler imports from the
artifact alone, in a fresh interpreter (`-I -S`: function folder, layers and the runtime's boto3,
no venv) -- possible only for units of this machine's architecture, so the import half runs on the
host copy, built from the same inputs; and the unzipped size beside Lambda's limit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from local.artifact.build import Artifact, Target, host_arch, runtime_dir

# "Deployment package (.zip file archive) size: 250 MB (unzipped), including layers" -- Lambda quotas.
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
ELF_MACHINES = {62: "x86_64", 183: "arm64", 3: "x86", 40: "arm"}
_EXTENSION_ABI = re.compile(r"\.cpython-(\d)(\d+)[^.]*\.so$")
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


@dataclass
class FunctionReport:
    logical_id: str
    target: Target
    function_bytes: int
    layer_bytes: int
    import_seconds: float | None = None

    @property
    def total_bytes(self) -> int:
        return self.function_bytes + self.layer_bytes


@dataclass
class Report:
    artifact: Artifact
    problems: list[str] = field(default_factory=list)
    functions: list[FunctionReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def table(self) -> str:
        rows = [f"{'function':<34} {'arch':<7} {'runtime':<11} {'code+deps MB':>12} {'layers MB':>10} "
                f"{'unzipped MB':>11} {'limit MB':>9} {'import s':>9}"]
        for item in self.functions:
            seconds = f"{item.import_seconds:.2f}" if item.import_seconds is not None else "-"
            rows.append(f"{item.logical_id:<34} {item.target.arch:<7} {item.target.runtime:<11} "
                        f"{_mb(item.function_bytes):>12.1f} {_mb(item.layer_bytes):>10.1f} {_mb(item.total_bytes):>11.1f} "
                        f"{_mb(UNZIPPED_LIMIT_BYTES):>9.0f} {seconds:>9}")
        return "\n".join(rows)


def inspect(artifact: Artifact, *, import_handlers: bool | None = None) -> Report:
    """Check every function of `artifact`; `import_handlers` defaults to "when built for this CPU"."""
    report = Report(artifact)
    stack = artifact.stack
    tests_python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for runtime in sorted({f.runtime for f in stack.functions.values()} - {tests_python}):
        report.problems.append(f"template: functions run on {runtime}, but the tests run on {tests_python} "
                               f"({sys.executable}): the runtime and the tests' Python must match")
    checked: set[Path] = set()
    for function in stack.functions.values():
        target = artifact.targets[function.logical_id]
        folders = [artifact.function_dir(function.logical_id), *artifact.layer_dirs(function.logical_id)]
        for layer_id in function.layers:
            layer, layer_target = stack.layers[layer_id], artifact.targets[layer_id]
            if layer_target.arch != target.arch:
                report.problems.append(f"{function.logical_id}: layer {layer_id} is built for {layer_target.arch}, "
                                       f"the function runs on {target.arch} (set the layer's Metadata BuildArchitecture)")
            if layer.compatible_runtimes and function.runtime not in layer.compatible_runtimes:
                report.problems.append(f"{function.logical_id}: layer {layer_id} lists runtimes "
                                       f"{list(layer.compatible_runtimes)}, not the function's {function.runtime}")
            if layer.compatible_architectures and function.arch not in layer.compatible_architectures:
                report.problems.append(f"{function.logical_id}: layer {layer_id} lists architectures "
                                       f"{list(layer.compatible_architectures)}, not the function's {function.arch}")
        for folder in folders:
            if folder in checked and folder != folders[0]:
                continue  # a layer shared by several functions of the same target is read once
            checked.add(folder)
            owner = function.logical_id if folder == folders[0] else folder.parent.name
            report.problems += [f"{owner}: {message}" for message in compiled_problems(folder, target)]
            if f"python{target.version}" == tests_python and (missing := missing_bytecode(folder)):
                report.problems.append(f"{owner}: {len(missing)} modules ship without their bytecode, e.g. "
                                       f"{missing[0]} (each is compiled again at every cold start)")
        sizes = [_tree_bytes(folder) for folder in folders]
        item = FunctionReport(function.logical_id, target, sizes[0], sum(sizes[1:]))
        if item.total_bytes > UNZIPPED_LIMIT_BYTES:
            report.problems.append(f"{function.logical_id}: {_mb(item.total_bytes):.1f} MB unzipped with its layers, "
                                   f"over Lambda's {_mb(UNZIPPED_LIMIT_BYTES):.0f} MB")
        should_import = target.arch == host_arch() if import_handlers is None else import_handlers
        if should_import:
            seconds, error = import_handler(artifact, function.logical_id)
            item.import_seconds = seconds
            if error:
                report.problems.append(error)
        report.functions.append(item)
    return report


def compiled_problems(folder: Path, target: Target) -> list[str]:
    """Compiled files and wheel tags under `folder` that do not fit `target`."""
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        machine = elf_machine(path)
        if machine is not None and machine != target.arch:
            problems.append(f"{relative} is compiled for {machine}, the function runs on {target.arch}")
        abi = _EXTENSION_ABI.search(path.name)
        if abi and f"cp{abi.group(1)}{abi.group(2)}" != target.abi:
            problems.append(f"{relative} is built for CPython {abi.group(1)}.{abi.group(2)}, "
                            f"the runtime is {target.runtime}")
        if path.suffix == ".pyc" and not _bytecode_fits(path, target):
            problems.append(f"{relative} is bytecode for another Python than the runtime's {target.runtime}")
        if path.name == "WHEEL" and path.parent.name.endswith(".dist-info"):
            tags = [line.split(":", 1)[1].strip() for line in path.read_text().splitlines() if line.startswith("Tag:")]
            if tags and not any(wheel_tag_fits(tag, target) for tag in tags):
                problems.append(f"{path.parent.name} has wheel tags {tags}, none loads on {target.arch}/{target.runtime} "
                                f"(glibc {target.glibc[0]}.{target.glibc[1]})")
    return problems


def missing_bytecode(folder: Path) -> list[str]:
    """The modules under `folder` that ship without their .pyc: each would be compiled again at
    every cold start (Lambda's code folders are read-only, so Python cannot cache it there)."""
    tag = sys.implementation.cache_tag
    return [path.relative_to(folder).as_posix() for path in sorted(folder.rglob("*.py"))
            if not (path.parent / "__pycache__" / f"{path.stem}.{tag}.pyc").is_file()]


def _bytecode_fits(path: Path, target: Target) -> bool:
    """A .pyc loads on the runtime when its name's tag is the runtime's (cpython-311) and, when the
    checking interpreter is that Python, its magic number is this interpreter's."""
    if f".cpython-{target.version.replace('.', '')}." not in path.name:
        return False
    if f"{sys.version_info.major}.{sys.version_info.minor}" != target.version:
        return True  # the version mismatch itself is reported once, for the template
    with open(path, "rb") as handle:
        return handle.read(4) == importlib.util.MAGIC_NUMBER


def elf_machine(path: Path) -> str | None:
    """The CPU an ELF file is built for (from its header), or None when the file is not ELF."""
    with open(path, "rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    code = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    return ELF_MACHINES.get(code, f"machine {code}")


def wheel_tag_fits(tag: str, target: Target) -> bool:
    """True when the wheel tag `python-abi-platform` loads on `target` (compressed tags allowed)."""
    pythons, abis, platforms = tag.split("-")
    version = int(target.abi[3:])
    platform_ok = any(_platform_fits(p, target) for p in platforms.split("."))
    for python in pythons.split("."):
        for abi in abis.split("."):
            if abi == "abi3":  # the stable ABI: built for CPython 3.N, loads on every 3.M with M >= N
                ok = python.startswith("cp3") and int(python[3:]) <= version
            else:
                ok = python in {"py3", f"py3{version}", target.abi} and abi in {"none", target.abi}
            if ok and platform_ok:
                return True
    return False


def _platform_fits(platform_tag: str, target: Target) -> bool:
    if platform_tag == "any":
        return True
    legacy = platform_tag.rpartition("_")[0]
    if legacy in _LEGACY_MANYLINUX:
        return platform_tag.endswith("_" + target.machine) and _LEGACY_MANYLINUX[legacy] <= target.glibc
    match = _MANYLINUX.match(platform_tag)
    return match is not None and match.group(3) == target.machine and (int(match.group(1)), int(match.group(2))) <= target.glibc


_IMPORT_PROBE = """
import importlib, json, sys, time
sys.path[:0] = json.loads(sys.argv[1])
module, _, attribute = sys.argv[2].rpartition(".")
start, cpu = time.perf_counter(), time.process_time()
try:
    getattr(importlib.import_module(module), attribute)
    exec(sys.argv[3])  # what a first request does besides the import (e.g. load models), timed with it
except Exception as error:
    print(json.dumps({"error": f"{type(error).__name__}: {error}",
                      "module": getattr(error, "name", None) if isinstance(error, ImportError) else None}))
else:
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}))
"""


def import_handler(artifact: Artifact, logical_id: str, *, interpreter: str | None = None,
                   then: str = "", flags: tuple[str, ...] = (), cpu: bool = False) -> tuple[float | None, str | None]:
    """Import the function's handler in a fresh isolated interpreter with only the artifact on its
    path (and run the statements `then`, timed with the import); return (seconds, None) or (None, a
    message naming the function and the missing module). `cpu`: the seconds are the process's CPU
    time rather than wall time (steadier on a shared machine); `flags`: more interpreter options."""
    function = artifact.stack.functions[logical_id]
    target = artifact.targets[logical_id]
    paths = [str(artifact.function_dir(logical_id)), *map(str, artifact.layer_dirs(logical_id)), str(runtime_dir(target))]
    environment = {name: value for name in ("PATH", "HOME", "LANG") if (value := os.environ.get(name))}
    environment |= {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "check",
                    "AWS_SECRET_ACCESS_KEY": "check", "POWERTOOLS_TRACE_DISABLED": "true",  # noqa: S105 - never sent
                    "AWS_LAMBDA_FUNCTION_NAME": logical_id}
    # Values as deployed where the template knows them (a parameter's default), else a placeholder.
    for name, value in function.environment.items():
        resolved = _as_deployed(value, artifact.stack.document)
        environment[name] = resolved if resolved is not None else f"placeholder-{name.lower()}"
    python = interpreter or str(getattr(sys, "_base_executable", None) or sys.executable)
    done = subprocess.run([python, "-I", "-S", "-B", *flags, "-c", _IMPORT_PROBE, json.dumps(paths), function.handler, then],
                          capture_output=True, text=True, env=environment, timeout=120, check=False)
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None, f"{logical_id}: importing {function.handler!r} crashed the interpreter: {done.stderr.strip()[-500:]}"
    if "error" not in answer:
        return float(answer["cpu_seconds" if cpu else "seconds"]), None
    message = (f"{logical_id}: handler {function.handler!r} does not import from its artifact alone: "
               f"{answer['error']}")
    if answer.get("module"):
        message += (f" -- add {answer['module'].split('.')[0]!r} to {function.requirements.relative_to(artifact.stack.source_root)}"
                    " (or to the layer's requirements)")
    return None, message


def _as_deployed(value: object, document: dict) -> str | None:
    """An environment value as a deploy with the parameters' defaults gives it: a string, a `Ref`
    to a parameter, or a `Fn::FindInMap` keyed by those; None when only AWS knows it (an ARN...)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, dict) or len(value) != 1:
        return None
    (function, argument), = value.items()
    parameters = document.get("Parameters", {})
    if function == "Ref":
        default = parameters.get(argument, {}).get("Default") if isinstance(argument, str) else None
        return None if default is None else str(default)
    if function == "Fn::FindInMap" and isinstance(argument, list) and len(argument) == 3:
        keys = [_as_deployed(part, document) for part in argument]
        if None in keys:
            return None
        found = document.get("Mappings", {}).get(keys[0], {}).get(keys[1], {}).get(keys[2])
        return None if found is None else str(found)
    return None


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _mb(size: int) -> float:
    return size / (1024 * 1024)
