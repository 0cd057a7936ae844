"""Function workers and their invocation: the part of Lambda the local cloud plays itself."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from local.runner import worker

_SPAWN = multiprocessing.get_context("spawn")
# Variables a Python process needs whatever its function; everything else comes from the stack.
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


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


class _Worker:
    """One sandbox process; restarted (cold) after a timeout or a crash, as Lambda does."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.process: Any = None
        self.connection: Connection | None = None
        self.invocations = 0

    def start(self) -> None:
        parent, child = _SPAWN.Pipe()
        self.process = _SPAWN.Process(target=worker.serve, args=(child, self.spec), daemon=True,
                                      name=f"fn-{self.spec.logical_id}")
        self.process.start()
        child.close()
        self.connection = parent

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None and self.process.is_alive():
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
        """Start every worker process now; each imports its handler at once (the init phase)."""
        for workers in self._workers.values():
            for item in workers:
                if item.process is None:
                    item.start()

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
