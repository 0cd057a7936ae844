"""A Lambda-like sandbox: one process per function, running the function's built artifact alone.

The runner starts this file as a script with the base interpreter in isolated mode, without site
(`python -I -S -B worker.py FD`: nor does it write bytecode, Lambda's /var/task is read-only), so no development venv and no site-packages are on the path: only
the function folder, its layers' `python/` folders and the folder that plays Lambda's runtime
(boto3), in Lambda's order. It imports nothing of the repository, only the standard library.

Over the connection on file descriptor FD the parent first sends the set-up (a dict: handler,
paths, environment, log file). The worker imports the handler (Lambda's init phase) and answers
`("init", None)` or `("init", error)`; then each `(request_id, event, timeout_s)` gets
`("ok", result)` or `("error", {"errorType", "errorMessage", "stackTrace"})`, as Lambda reports a
function error. The function's own output goes to its log file, not the terminal.
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


def _init_error(error: BaseException) -> dict[str, Any]:
    return {"errorType": "Runtime.ImportModuleError", "errorMessage": f"{type(error).__name__}: {error}",
            "module": getattr(error, "name", None) if isinstance(error, ImportError) else None,
            "stackTrace": traceback.format_exc().splitlines()}


def serve(connection: Connection) -> None:
    """Set up the sandbox from the parent's first message, then answer invocations until closed."""
    setup: dict[str, Any] = connection.recv()
    os.environ.clear()
    os.environ.update(setup["environment"])
    # Lambda's order: /var/task, then each layer's /opt/python, then the runtime's own packages.
    sys.path[:0] = [*setup["code_dirs"], *setup["layer_dirs"], *setup["runtime_dirs"]]
    if setup.get("log_path"):
        log = open(setup["log_path"], "a", buffering=1)  # noqa: SIM115 - lives as long as the process
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.stdout = sys.stderr = log
    # Lambda's init phase: import the handler module before the first event, so the module's
    # set-up (clients, models) is paid once at start; an import error is reported per invocation.
    handler = None
    init_error: dict[str, Any] | None = None
    try:
        handler = _load_handler(setup["handler"])
    except Exception as error:  # noqa: BLE001 - reported to every caller, as Lambda reports Runtime.ImportModuleError
        init_error = _init_error(error)
        traceback.print_exc()
    connection.send(("init", init_error))
    while True:
        try:
            request_id, event, timeout_s = connection.recv()
        except EOFError:
            return
        context = LambdaContext(
            function_name=setup["function_name"],
            memory_limit_in_mb=setup["memory_mb"],
            invoked_function_arn=setup["function_arn"],
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


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
