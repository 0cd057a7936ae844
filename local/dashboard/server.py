"""Serves the dashboard page and pushes state changes to it as server-sent events.

Works offline: the page, its script and its style are files in `static/`, no CDN.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

STATIC = Path(__file__).parent / "static"
KEEPALIVE_S = 10.0
# The page runs its own script and style only; event data is rendered as text (static/app.js), and
# this policy is the second wall: no inline script or handler, no other origin (issue 16.5).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Hub:
    """Wakes every SSE stream when the state changes."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.generation = 0

    def notify(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        with self.changed:
            self.changed.wait_for(lambda: self.generation != seen, timeout=timeout)
            return self.generation


class DashboardApp:
    """WSGI app: `/` page, `/static/...`, `/api/state` (JSON), `/api/stream` (text/event-stream)."""

    def __init__(self, feed: Any, hub: Hub, links: dict[str, str]) -> None:
        self.feed = feed
        self.hub = hub
        self.links = links
        self.urls = Map([
            Rule("/", endpoint="index"),
            Rule("/static/<name>", endpoint="static"),
            Rule("/api/state", endpoint="state"),
            Rule("/api/stream", endpoint="stream"),
        ])

    def snapshot(self) -> dict[str, Any]:
        with self.feed.lock:
            return self.feed.state.snapshot() | {"links": self.links}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self.urls.bind_to_environ(environ).match()
        except Exception:  # noqa: BLE001 - werkzeug's NotFound / MethodNotAllowed
            response = Response("not found", 404)
            response.headers.update(SECURITY_HEADERS)
            return response(environ, start_response)
        if endpoint == "index":
            response = Response((STATIC / "index.html").read_bytes(), mimetype="text/html")
        elif endpoint == "static":
            path = (STATIC / args["name"]).resolve()
            if path.parent != STATIC.resolve() or not path.is_file():
                response = Response("not found", 404)
            else:
                response = Response(path.read_bytes(), mimetype=mimetypes.guess_type(path.name)[0] or "text/plain")
        elif endpoint == "state":
            response = Response(json.dumps(self.snapshot(), default=str), mimetype="application/json")
        else:
            response = Response(self._stream(request), mimetype="text/event-stream",
                                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    def _stream(self, request: Request) -> Iterator[str]:
        seen = -1
        while True:
            generation = self.hub.wait(seen, KEEPALIVE_S) if seen >= 0 else self.hub.generation
            if generation == seen:
                yield ": keep-alive\n\n"
                continue
            seen = generation
            yield f"data: {json.dumps(self.snapshot(), default=str)}\n\n"
