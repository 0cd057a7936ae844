"""Serve a WSGI app from a process of its own, so its CPU work does not hold the local cloud's GIL.

The local cloud's main process hosts moto, the API gateway and the pollers; an emulator that does
heavy pure-Python work per request (the Comprehend emulator runs spaCy) would starve them all under
load. `ProcessServer` spawns a child that binds the port at once (so the URL is known before the app
has loaded, and other parts can start meanwhile), builds the app, then serves until the parent
closes the pipe. Requests that arrive while the app is still loading wait for it.

Example::

    server = ProcessServer(OwnProcess("local.emulators.comprehend:make_app", {"latency_ms": 5}),
                           "127.0.0.1", 0, "comprehend")
    server.wait_ready()
    ... server.url ...
    server.stop()
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import pkgutil
import threading
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Response

_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class OwnProcess:
    """What an emulator builder returns to be served from its own process: `module:function` that
    builds the WSGI app, and the keyword arguments to call it with (picklable)."""

    factory: str
    settings: dict[str, Any] = field(default_factory=dict)


def _serve(spec: OwnProcess, host: str, port: int, connection: Connection) -> None:
    """Child process: bind, report the port, build the app, report ready, serve until the pipe closes."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request, as in the parent
    loaded = threading.Event()
    holder: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        loaded.wait()
        if "error" in holder:
            return Response(holder["error"], status=500)(environ, start_response)
        return holder["app"](environ, start_response)

    server = make_server(host, port, app, threaded=True)
    connection.send(("port", server.server_port))
    threading.Thread(target=server.serve_forever, name="serve", daemon=True).start()
    try:
        holder["app"] = pkgutil.resolve_name(spec.factory)(**spec.settings)
        connection.send(("ready", None))
    except Exception:  # noqa: BLE001 - reported to the parent and to every request
        holder["error"] = f"{spec.factory} failed to build:\n{traceback.format_exc()}"
        connection.send(("error", holder["error"]))
    loaded.set()
    with contextlib.suppress(EOFError, OSError):
        connection.recv()  # nothing is ever sent: this returns when the parent closes its end
    server.shutdown()


class ProcessServer:
    """The parent's handle on one served child process; same `url`/`stop()` as an in-process server."""

    def __init__(self, spec: OwnProcess, host: str, port: int, name: str) -> None:
        self.name = name
        self._connection, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_serve, args=(spec, host, port, child), daemon=True, name=name)
        self._process.start()
        child.close()
        kind, bound_port = self._receive(timeout=60)
        if kind != "port":
            raise RuntimeError(f"{name}: the server process did not start: {bound_port}")
        self.url = f"http://{host}:{bound_port}"
        self._ready = False

    def _receive(self, timeout: float) -> tuple[str, Any]:
        if not self._connection.poll(timeout):
            raise TimeoutError(f"{self.name}: no answer from the server process within {timeout:g} s")
        try:
            message: tuple[str, Any] = self._connection.recv()
        except EOFError:
            raise RuntimeError(f"{self.name}: the server process exited (exit code {self._process.exitcode})") from None
        return message

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until the app has been built in the child; raise if building it failed."""
        if self._ready:
            return
        kind, detail = self._receive(timeout)
        if kind != "ready":
            raise RuntimeError(detail)
        self._ready = True

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def stop(self) -> None:
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
