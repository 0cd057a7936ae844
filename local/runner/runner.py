"""Function workers and their invocation: the part of Lambda the local cloud plays itself.

Each sandbox is a process of the base interpreter (the one the development venv was made from, so
the same Python version as the runtime) in isolated mode without site: it sees the function's built
artifact, its layers and the stand-in for Lambda's runtime packages, never the venv. A module the
artifact lacks fails the function's init here as it would in AWS.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.runner import worker

WORKER_SCRIPT = Path(worker.__file__).resolve()
# Variables a Python process needs whatever its function; everything else comes from the stack.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Lambda gives the init phase 10 s; a loaded 2-core machine starting every sandbox at once needs more.
INIT_TIMEOUT_S = 90.0


def base_interpreter() -> str:
    """The interpreter the running venv was created from (same version, none of the venv's packages)."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


class InvocationError(RuntimeError):
    """The function raised, timed out or its worker died; `payload` is Lambda's error object."""

    def __init__(self, function: str, payload: dict[str, Any]) -> None:
        self.function = function
        self.payload = payload
        super().__init__(f"{function}: {payload.get('errorType')}: {payload.get('errorMessage')}")


@dataclass
class FunctionSpec:
    """Everything needed to run one function of the stack as Lambda would."""

    logical_id: str
    function_name: str
    function_arn: str
    handler: str
    code_dir: Path
    layer_dirs: list[Path] = field(default_factory=list)
    # What Lambda's runtime brings (boto3 and its dependencies), after the layers on sys.path.
    runtime_dirs: list[Path] = field(default_factory=list)
    # Where a missing module should be added; named in the init error.
    requirements: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 3.0
    memory_mb: int = 128
    log_path: Path | None = None
    concurrency: int = 1

    def process_environment(self) -> dict[str, str]:
        base = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
        lambda_variables = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "_HANDLER": self.handler,
        }
        return base | lambda_variables | self.environment

    def setup(self) -> dict[str, Any]:
        """The worker's first message: everything it needs, as plain data (see worker.py)."""
        return {
            "handler": self.handler, "function_name": self.function_name, "function_arn": self.function_arn,
            "memory_mb": self.memory_mb, "environment": self.process_environment(),
            "code_dirs": [str(self.code_dir)], "layer_dirs": [str(d) for d in self.layer_dirs],
            "runtime_dirs": [str(d) for d in self.runtime_dirs],
            "log_path": str(self.log_path) if self.log_path else None,
        }

    def describe_init_error(self, error: dict[str, Any]) -> str:
        """One line naming the function, its artifact and the missing module, for a failed init."""
        text = f"{self.logical_id}: cannot import its handler {self.handler!r} from its artifact {self.code_dir}"
        text += f" (+ {len(self.layer_dirs)} layer(s)): {error.get('errorMessage')}"
        if error.get("module") and self.requirements is not None:
            text += f" -- is {error['module'].split('.')[0]!r} missing from {self.requirements}?"
        return text


class _Sandbox:
    """A worker process, with the calls the runner and the fault tests make on it."""

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        if self.is_alive():
            self._popen.kill()

    def terminate(self) -> None:
        if self.is_alive():
            self._popen.terminate()

    def join(self, timeout: float | None = None) -> None:
        with suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)


class _Worker:
    """One sandbox process; restarted (cold) after a timeout or a crash, as Lambda does."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.process: _Sandbox | None = None
        self.connection: Connection | None = None
        self.invocations = 0
        self._init_done = False
        self.init_error: dict[str, Any] | None = None

    def start(self) -> None:
        parent, child = socket.socketpair()
        with child:
            popen = subprocess.Popen(
                [base_interpreter(), "-I", "-S", "-B", str(WORKER_SCRIPT), str(child.fileno())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, env=self.spec.process_environment())
        self.process = _Sandbox(popen)
        self.connection = Connection(parent.detach())
        self._init_done, self.init_error = False, None
        self.connection.send(self.spec.setup())

    def await_init(self, timeout: float = INIT_TIMEOUT_S) -> dict[str, Any] | None:
        """Wait for the sandbox's init phase; return its error (Runtime.ImportModuleError) or None."""
        if self._init_done:
            return self.init_error
        connection = self.connection
        assert connection is not None
        try:
            if not connection.poll(timeout):
                self.kill()
                raise InvocationError(self.spec.logical_id, {
                    "errorType": "Sandbox.Timedout", "errorMessage": f"init did not finish within {timeout:g} s"})
            _, self.init_error = connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as error:
            self.kill()
            raise InvocationError(self.spec.logical_id, {
                "errorType": "Runtime.ExitError", "errorMessage": f"worker exited during init: {error!r}"}) from None
        self._init_done = True
        return self.init_error

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            self.process.join(timeout=2)
            self.process.terminate()
            self.process.join(timeout=5)
        self.process = self.connection = None

    def kill(self) -> None:
        """Kill the sandbox at once (used by fault-injection tests); the next call cold-starts."""
        if self.process is not None:
            self.process.kill()
            self.process.join(timeout=5)
        self.process = self.connection = None

    def invoke(self, event: Any) -> Any:
        if self.process is None or not self.process.is_alive():
            self.start()
        init_error = self.await_init()
        if init_error is not None:
            raise InvocationError(self.spec.logical_id, init_error)
        # A local reference: `kill()` from another thread (fault tests) clears the attribute.
        connection = self.connection
        assert connection is not None
        self.invocations += 1
        request_id = str(uuid.uuid4())
        timeout = self.spec.timeout_s
        try:
            connection.send((request_id, event, timeout))
            # A little slack over the function timeout: the cold start counts against it in Lambda too.
            if not connection.poll(timeout + 1.0):
                self.kill()
                raise InvocationError(self.spec.logical_id, {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds"})
            status, payload = connection.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError) as error:
            self.kill()
            raise InvocationError(self.spec.logical_id, {
                "errorType": "Runtime.ExitError", "errorMessage": f"worker exited: {error!r}"}) from None
        if status == "error":
            raise InvocationError(self.spec.logical_id, payload)
        return payload


class ArtifactImportError(RuntimeError):
    """Some function's handler does not import from its built artifact (a requirement is missing)."""


class Runner:
    """Invokes the stack's functions by logical id, each in its own pool of worker processes.

    Example::

        runner = Runner([spec])
        runner.invoke("CostApiFunction", {"httpMethod": "GET", ...})
        runner.stop()
    """

    def __init__(self, specs: list[FunctionSpec]) -> None:
        self.specs = {spec.logical_id: spec for spec in specs}
        self._idle: dict[str, queue.Queue[_Worker]] = {}
        self._workers: dict[str, list[_Worker]] = {}
        self._lock = threading.Lock()
        for spec in specs:
            pool: queue.Queue[_Worker] = queue.Queue()
            self._workers[spec.logical_id] = [_Worker(spec) for _ in range(spec.concurrency)]
            for item in self._workers[spec.logical_id]:
                pool.put(item)
            self._idle[spec.logical_id] = pool

    def warm(self) -> None:
        """Start every sandbox now and wait for their init phases (in parallel).

        Raises ArtifactImportError naming each function whose handler does not import from its
        artifact, and the module it lacks: the local cloud refuses to run what would fail in AWS.
        """
        every = [item for workers in self._workers.values() for item in workers]
        for item in every:
            if item.process is None:
                item.start()
        failures = {}
        for item in every:
            error = item.await_init()
            if error is not None:
                failures[item.spec.logical_id] = item.spec.describe_init_error(error)
        if failures:
            raise ArtifactImportError("\n".join(sorted(failures.values())))

    @contextmanager
    def _checkout(self, logical_id: str) -> Iterator[_Worker]:
        if logical_id not in self._idle:
            raise KeyError(f"no function {logical_id!r} in the stack; known: {sorted(self._idle)}")
        item = self._idle[logical_id].get()
        try:
            yield item
        finally:
            self._idle[logical_id].put(item)

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run `event` through the function and return its result, or raise InvocationError."""
        with self._checkout(logical_id) as item:
            return item.invoke(event)

    def workers(self, logical_id: str) -> list[Any]:
        """The worker processes of one function (for tests that kill a sandbox mid-batch)."""
        return list(self._workers[logical_id])

    def stop(self) -> None:
        for workers in self._workers.values():
            for item in workers:
                item.stop()
