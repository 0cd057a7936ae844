"""CloudFormation's side of custom resources, for the local stack.

In AWS, CloudFormation invokes a custom resource's ServiceToken function with a Create event and
waits for the function to PUT its answer to a presigned ResponseURL; the resource's attributes
(`!GetAtt Resource.Arn`) are the answer's `Data`. Locally, moto creates the stack and would run the
function in Docker; `moto_patches` hands the event to `CustomResourceHost.run` instead, which runs
the function from its built artifact in a sandbox (as the runner does every function), with a
ResponseURL served here on loopback, and returns the answer it PUT. The stack's later resources see
the answer's Data, as in AWS.

Example::

    host = CustomResourceHost(spec_for=lambda function: FunctionSpec(...)).start()
    moto_patches.set_custom_resource_handler(host.run)
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from local.runner.runner import FunctionSpec, InvocationError, Runner


class CustomResourceError(RuntimeError):
    """The custom resource's function failed, sent FAILED, or sent no answer."""


class CustomResourceHost:
    """Runs custom-resource functions once per request and collects the answers they PUT."""

    def __init__(self, spec_for: Callable[[dict[str, Any]], FunctionSpec], host: str = "127.0.0.1") -> None:
        self.spec_for = spec_for
        self.host = host
        self._answers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.url = ""
        self.requests: list[dict[str, Any]] = []  # every event sent, for tests
        self.failures: list[str] = []  # why each failed request failed (the stack's CREATE_FAILED reason)

    def start(self) -> CustomResourceHost:
        self._server = make_server(self.host, 0, self._app, threaded=True)
        self.url = f"http://{self.host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="custom-resources", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request_id = request.path.rsplit("/", 1)[-1]
        if request.method != "PUT" or not request.path.startswith("/responses/"):
            return Response("not found", status=404)(environ, start_response)
        try:
            answer = json.loads(request.get_data())
        except json.JSONDecodeError:
            return Response("not JSON", status=400)(environ, start_response)
        with self._lock:
            self._answers[request_id] = answer
        return Response("", status=200)(environ, start_response)

    def run(self, function: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        """Invoke `function` (its moto description) with `event`; return the SUCCESS answer's body."""
        request_id = str(event.get("RequestId") or uuid.uuid4())
        event = dict(event, RequestId=request_id, ResponseURL=f"{self.url}/responses/{request_id}")
        self.requests.append(event)
        try:
            return self._run(function, event, request_id)
        except CustomResourceError as error:
            self.failures.append(str(error))
            raise

    def _run(self, function: dict[str, Any], event: dict[str, Any], request_id: str) -> dict[str, Any]:
        spec = self.spec_for(function)
        runner = Runner([spec])  # one sandbox, for this request only (CloudFormation waits for it)
        try:
            runner.invoke(spec.logical_id, event)
        except InvocationError as error:
            raise CustomResourceError(f"{event['LogicalResourceId']}: {error}") from None
        finally:
            runner.stop()
        with self._lock:
            answer = self._answers.pop(request_id, None)
        if answer is None:
            raise CustomResourceError(f"{event['LogicalResourceId']}: the function returned without answering "
                                      "CloudFormation (no PUT to its ResponseURL)")
        if answer.get("Status") != "SUCCESS":
            raise CustomResourceError(f"{event['LogicalResourceId']}: {answer.get('Reason') or 'FAILED'}")
        return answer
