"""Local API Gateway: HTTP requests become REST API proxy events, responses go back as HTTP.

Routes come from the template's `Api` events. The event carries `resource` and
`requestContext.resourcePath` (the route template), which is how Chalice picks its view. A function
error becomes API Gateway's 502, as in AWS.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.runner.runner import InvocationError, Runner

log = logging.getLogger("pitwall.local")
STAGE = "Prod"


@dataclass(frozen=True)
class Route:
    """One `Api` event: a path template and method routed to a function."""

    path: str
    method: str
    function: str


def routes_from_template(sam: dict[str, Any]) -> list[Route]:
    """Every `Api` event of every function in a SAM template."""
    found = []
    for logical_id, resource in sam.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "Api":
                props = event["Properties"]
                found.append(Route(props["Path"], props["Method"].upper(), logical_id))
    return found


def _werkzeug_path(path: str) -> str:
    path = re.sub(r"\{(\w+)\+\}", r"<path:\1>", path)
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def proxy_event(request: Request, route: Route, path_parameters: dict[str, str]) -> dict[str, Any]:
    """API Gateway's REST proxy integration event for `request` (payload format 1.0)."""
    raw = request.get_data()
    try:
        body: str | None = raw.decode("utf-8") if raw else None
        is_base64 = False
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode(), True
    query = request.args
    resource_path = route.path
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": dict(request.headers.items()),
        "multiValueHeaders": {k: request.headers.getlist(k) for k in request.headers.keys()},  # noqa: SIM118
        "queryStringParameters": {k: query[k] for k in query} or None,
        "multiValueQueryStringParameters": {k: query.getlist(k) for k in query} or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource_path,
            "httpMethod": request.method,
            "path": f"/{STAGE}{request.path}",
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": request.remote_addr or "127.0.0.1", "userAgent": request.user_agent.string},
            "accountId": "123456789012",
            "apiId": "local",
            "protocol": "HTTP/1.1",
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def http_response(result: Any) -> Response:
    """Turn a proxy integration result into HTTP; a malformed one is API Gateway's 502."""
    if not isinstance(result, dict) or "statusCode" not in result:
        return Response(json.dumps({"message": "Internal server error"}), 502, mimetype="application/json")
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.pop("Content-Type", None)
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(name)
        for value in values:
            response.headers.add(name, str(value))
    return response


class ApiGateway:
    """Serves the template's API routes on host:port, invoking the functions through the runner."""

    def __init__(self, runner: Runner, routes: list[Route], host: str = "127.0.0.1", port: int = 3000) -> None:
        self.runner = runner
        self.url_map = Map([Rule(_werkzeug_path(r.path), methods=[r.method], endpoint=r) for r in routes],
                           strict_slashes=False)
        self.server = make_server(host, port, self.wsgi, threaded=True)
        self.url = f"http://{host}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-gateway", daemon=True)

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            route, arguments = self.url_map.bind_to_environ(environ).match()
        except MethodNotAllowed:
            response = Response(json.dumps({"message": "Missing Authentication Token"}), 403, mimetype="application/json")
            return response(environ, start_response)
        except (NotFound, HTTPException):
            response = Response(json.dumps({"message": "Missing Authentication Token"}), 403, mimetype="application/json")
            return response(environ, start_response)
        event = proxy_event(request, route, {k: str(v) for k, v in arguments.items()})
        try:
            response = http_response(self.runner.invoke(route.function, event))
        except InvocationError as error:
            log.warning("api: %s %s -> %s", request.method, route.path, error.payload.get("errorType"))
            response = Response(json.dumps({"message": "Internal server error"}), 502, mimetype="application/json")
        return response(environ, start_response)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)
