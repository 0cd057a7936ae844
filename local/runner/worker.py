"""A Lambda-like sandbox: one process per function, its own environment and module state.

The parent sends `(request_id, event, timeout_s)` over a pipe; the worker answers
`("ok", result)` or `("error", {"errorType", "errorMessage", "stackTrace"})`, as Lambda reports a
function error. Like Lambda, the handler module is imported on the first invocation (cold start)
and kept for the next ones; the function's own output goes to its log file, not the terminal.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that Powertools and our handlers read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline_monotonic: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


def _load_handler(handler: str) -> Any:
    module_name, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def serve(connection: Connection, spec: Any) -> None:
    """Worker process entry point: set up the sandbox, then answer invocations until closed."""
    os.environ.clear()
    os.environ.update(spec.process_environment())
    for path in reversed([str(spec.code_dir), *map(str, spec.layer_dirs)]):
        sys.path.insert(0, path)
    if spec.log_path is not None:
        log = open(spec.log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
    # Lambda's init phase: import the handler module before the first event, so the module's
    # set-up (clients, models) is paid once at start; an import error is reported per invocation.
    handler = None
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(spec.handler)
    except Exception as error:  # noqa: BLE001 - reported to every caller, as Lambda reports Runtime.ImportModuleError
        init_error = {"errorType": "Runtime.ImportModuleError", "errorMessage": f"{type(error).__name__}: {error}",
                      "stackTrace": traceback.format_exc().splitlines()}
    while True:
        try:
            request_id, event, timeout_s = connection.recv()
        except EOFError:
            return
        context = LambdaContext(
            function_name=spec.function_name,
            memory_limit_in_mb=spec.memory_mb,
            invoked_function_arn=spec.function_arn,
            aws_request_id=request_id,
            deadline_monotonic=time.monotonic() + timeout_s,
        )
        if handler is None:
            connection.send(("error", init_error))
            continue
        try:
            result = ("ok", handler(event, context))
        except Exception as error:  # noqa: BLE001 - reported to the caller like a Lambda function error
            result = ("error", {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exc().splitlines(),
            })
        connection.send(result)
