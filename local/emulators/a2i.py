"""Local Amazon Augmented AI (A2I) runtime with a reviewer web page.

Speaks the REST-JSON protocol of `sagemaker-a2i-runtime` (StartHumanLoop, DescribeHumanLoop,
ListHumanLoops, StopHumanLoop, DeleteHumanLoop) with A2I's shapes, name rules and error codes, so
boto3 reaches it through `AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME` (botocore's service id is
"SageMaker A2I Runtime"). It also answers the part of the SageMaker control plane (JSON 1.1,
`AWS_ENDPOINT_URL_SAGEMAKER`) that sets A2I up: Create/Describe/Delete of flow definitions and human
task UIs, requests checked against botocore's own model of SageMaker (required members, lengths,
patterns), which is how the stack's `Custom::A2iFlowDefinition` creates them locally. A loop then
writes its output under its flow definition's `OutputConfig.S3OutputPath`; with
`require_flow_definition` a loop naming no existing flow definition is refused, as A2I does. Under `/review/` a page lists the open loops and lets a person (or a
Playwright test) answer one; `answer()` / `POST /review/api/loops/<name>/answer` do the same for
programs. An answer writes `output.json` in A2I's layout to S3, marks the loop `Completed` and puts
`SageMaker A2I HumanLoop Status Change` on the default event bus. Hand-written because no library
emulates A2I (moto has no `sagemaker-a2i-runtime`).

Example::

    app = make_app(s3=boto3.client("s3"), events=boto3.client("events"),
                   output_s3_path="s3://review-bucket/a2i-output")
    werkzeug.serving.run_simple("127.0.0.1", 4571, app)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import mimetypes
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from werkzeug.exceptions import Forbidden, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

STATIC = Path(__file__).with_name("a2i_static")
# The reviewer page runs its own script and style only and renders task data as text
# (a2i_static/review.js); images come from this origin (the task object route) (issue 16.5).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
NAME_PATTERN = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
FLOW_ARN_PATTERN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:flow-definition/.+$")
MAX_NAME = 63
MAX_INPUT_CONTENT = 3_145_728  # HumanLoopInput.InputContent max (A2I API reference)
CONTENT_CLASSIFIERS = {"FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"}
TERMINAL = {"Completed", "Failed", "Stopped"}
STATUS_CHANGE = "SageMaker A2I HumanLoop Status Change"


class A2IError(Exception):
    """An A2I error response: HTTP status, `x-amzn-ErrorType` code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _validation(message: str) -> A2IError:
    return A2IError(400, "ValidationException", message)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _validation(f"1 validation error detected: Value at '{name}' failed to satisfy constraint: "
                          "Member must be a timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class HumanLoop:
    name: str
    arn: str
    flow_definition_arn: str
    input_content: str
    content_classifiers: list[str]
    creation_time: datetime
    status: str = "InProgress"
    failure_reason: str | None = None
    failure_code: str | None = None
    output_s3_uri: str | None = None

    def describe(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "CreationTime": _iso(self.creation_time), "HumanLoopStatus": self.status,
            "HumanLoopName": self.name, "HumanLoopArn": self.arn, "FlowDefinitionArn": self.flow_definition_arn,
        }
        if self.failure_reason:
            body["FailureReason"] = self.failure_reason
        if self.failure_code:
            body["FailureCode"] = self.failure_code
        if self.output_s3_uri:
            body["HumanLoopOutput"] = {"OutputS3Uri": self.output_s3_uri}
        return body

    def summary(self) -> dict[str, Any]:
        body = {"HumanLoopName": self.name, "HumanLoopStatus": self.status,
                "CreationTime": _iso(self.creation_time), "FlowDefinitionArn": self.flow_definition_arn}
        if self.failure_reason:
            body["FailureReason"] = self.failure_reason
        return body


def _check_name(value: Any, field_name: str = "humanLoopName") -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME or not NAME_PATTERN.match(value):
        raise _validation(
            f"1 validation error detected: Value '{str(value)[:80]}' at '{field_name}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {NAME_PATTERN.pattern} "
            f"and have length between 1 and {MAX_NAME}")
    return value


def _check_flow_arn(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 1024 or not FLOW_ARN_PATTERN.match(value):
        raise _validation("1 validation error detected: Value at 'flowDefinitionArn' failed to satisfy "
                          f"constraint: Member must satisfy regular expression pattern: {FLOW_ARN_PATTERN.pattern}")
    return value


def _split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri[:200]!r}")
    return parsed.netloc, parsed.path.lstrip("/")


@dataclass
class A2IEmulator:
    """The emulator: a WSGI app (call it) plus `answer`, `fail` and fault injection for tests."""

    s3: Any = None
    events: Any = None
    output_s3_path: str = "s3://pitwall-a2i-output/a2i"
    flow_definitions: Mapping[str, str] = field(default_factory=dict)  # flow ARN → its S3 output path
    region: str = "us-east-1"
    account_id: str = "123456789012"
    event_bus_name: str = "default"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    loops: dict[str, HumanLoop] = field(default_factory=dict)
    require_flow_definition: bool = False
    # The buckets a reviewer's page may read task objects from (the stack's ReviewTaskObjectBuckets; in
    # AWS, A2I's execution role may read those only). Empty: none (issue 16 item 6).
    task_object_buckets: frozenset[str] = frozenset()
    # The stack's own task buckets, known once it is deployed (the raw-PII bucket holds the PII
    # review tasks under pii-review/, which A2I's role may read in AWS): asked at each request.
    own_task_buckets: Callable[[], Iterable[str]] = field(default=lambda: ())
    created_flow_definitions: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → description
    human_task_uis: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → description
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _throttle_next: int = 0

    def __post_init__(self) -> None:
        self.url_map = Map([
            Rule("/human-loops", methods=["POST"], endpoint="start"),
            Rule("/human-loops", methods=["GET"], endpoint="list"),
            Rule("/human-loops/stop", methods=["POST"], endpoint="stop"),
            Rule("/human-loops/<name>", methods=["GET"], endpoint="describe"),
            Rule("/human-loops/<name>", methods=["DELETE"], endpoint="delete"),
            Rule("/", endpoint="home"),
            Rule("/review/", endpoint="page"),
            Rule("/review/static/<path:filename>", endpoint="static"),
            Rule("/review/api/loops", methods=["GET"], endpoint="open_loops"),
            Rule("/review/api/loops/<name>", methods=["GET"], endpoint="task"),
            Rule("/review/api/loops/<name>/object", methods=["GET"], endpoint="task_object"),
            Rule("/review/api/loops/<name>/answer", methods=["POST"], endpoint="submit"),
        ], strict_slashes=False)

    # --- clients -----------------------------------------------------------------------------
    def _s3(self) -> Any:
        if self.s3 is None:
            import boto3

            self.s3 = boto3.client("s3", region_name=self.region)
        return self.s3

    def _events(self) -> Any:
        if self.events is None:
            import boto3

            self.events = boto3.client("events", region_name=self.region)
        return self.events

    # --- fault injection ---------------------------------------------------------------------
    def throttle_next(self, count: int) -> None:
        """Answer the next `count` StartHumanLoop calls with `ThrottlingException`."""
        with self._lock:
            self._throttle_next = count

    # --- the A2I runtime API -----------------------------------------------------------------
    def start_human_loop(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = _check_name(body.get("HumanLoopName"))
        flow_arn = _check_flow_arn(body.get("FlowDefinitionArn"))
        loop_input = body.get("HumanLoopInput")
        if not isinstance(loop_input, dict) or not isinstance(loop_input.get("InputContent"), str):
            raise _validation("1 validation error detected: Value null at 'humanLoopInput.inputContent' "
                              "failed to satisfy constraint: Member must not be null")
        content = loop_input["InputContent"]
        if len(content) > MAX_INPUT_CONTENT:
            raise _validation("1 validation error detected: Value at 'humanLoopInput.inputContent' failed to "
                              f"satisfy constraint: Member must have length less than or equal to {MAX_INPUT_CONTENT}")
        try:
            json.loads(content)
        except json.JSONDecodeError:
            raise _validation("Input content is not valid JSON") from None
        classifiers = (body.get("DataAttributes") or {}).get("ContentClassifiers", [])
        if not isinstance(classifiers, list) or any(item not in CONTENT_CLASSIFIERS for item in classifiers):
            raise _validation("1 validation error detected: Value at 'dataAttributes.contentClassifiers' failed "
                              f"to satisfy constraint: Member must satisfy enum value set: {sorted(CONTENT_CLASSIFIERS)}")
        with self._lock:
            if self._throttle_next > 0:
                self._throttle_next -= 1
                raise A2IError(429, "ThrottlingException", "Rate exceeded")
            if self.require_flow_definition and not self._flow_by_arn(flow_arn):
                raise A2IError(404, "ResourceNotFoundException", f"FlowDefinition {flow_arn} not found")
            if name in self.loops:
                raise A2IError(409, "ConflictException", f"HumanLoop with name {name} already exists")
            arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:human-loop/{name}"
            self.loops[name] = HumanLoop(name=name, arn=arn, flow_definition_arn=flow_arn, input_content=content,
                                         content_classifiers=list(classifiers), creation_time=self.clock())
        return {"HumanLoopArn": arn}

    def _loop(self, name: str) -> HumanLoop:
        _check_name(name)
        loop = self.loops.get(name)
        if loop is None:
            raise A2IError(404, "ResourceNotFoundException", f"HumanLoop {name} not found")
        return loop

    def describe_human_loop(self, name: str) -> dict[str, Any]:
        with self._lock:
            return self._loop(name).describe()

    def list_human_loops(self, args: Mapping[str, str]) -> dict[str, Any]:
        flow_arn = args.get("FlowDefinitionArn")
        if flow_arn is None:
            raise _validation("1 validation error detected: Value null at 'flowDefinitionArn' failed to satisfy "
                              "constraint: Member must not be null")
        _check_flow_arn(flow_arn)
        order = args.get("SortOrder", "Descending")
        if order not in ("Ascending", "Descending"):
            raise _validation("Value at 'sortOrder' failed to satisfy constraint: Member must satisfy enum "
                              "value set: [Ascending, Descending]")
        try:
            max_results = int(args.get("MaxResults", "100"))
        except ValueError:
            raise _validation("Value at 'maxResults' must be an integer") from None
        if not 1 <= max_results <= 100:
            raise _validation("Value at 'maxResults' failed to satisfy constraint: Member must have value "
                              "between 1 and 100")
        after = _parse_time(args["CreationTimeAfter"], "creationTimeAfter") if "CreationTimeAfter" in args else None
        before = _parse_time(args["CreationTimeBefore"], "creationTimeBefore") if "CreationTimeBefore" in args else None
        start = 0
        if args.get("NextToken"):
            try:
                start = int(base64.urlsafe_b64decode(args["NextToken"]).decode())
            except ValueError:
                raise _validation("Invalid NextToken") from None
        with self._lock:
            loops = [loop for loop in self.loops.values() if loop.flow_definition_arn == flow_arn
                     and (after is None or loop.creation_time > after)
                     and (before is None or loop.creation_time < before)]
        loops.sort(key=lambda loop: (loop.creation_time, loop.name), reverse=order == "Descending")
        page = loops[start:start + max_results]
        body: dict[str, Any] = {"HumanLoopSummaries": [loop.summary() for loop in page]}
        if start + max_results < len(loops):
            body["NextToken"] = base64.urlsafe_b64encode(str(start + max_results).encode()).decode()
        return body

    def stop_human_loop(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = _check_name(body.get("HumanLoopName"))
        with self._lock:
            loop = self._loop(name)
            if loop.status in ("Stopped", "Stopping"):
                return {}
            if loop.status != "InProgress":
                raise _validation(f"HumanLoop {name} is {loop.status} and cannot be stopped")
            loop.status = "Stopped"
        self._put_status_change(loop)
        return {}

    def delete_human_loop(self, name: str) -> dict[str, Any]:
        with self._lock:
            loop = self._loop(name)
            if loop.status not in TERMINAL:
                raise _validation(f"HumanLoop {name} is {loop.status}; only Failed, Completed or Stopped loops "
                                  "can be deleted")
            del self.loops[name]
        return {}

    # --- answering ---------------------------------------------------------------------------
    def output_uri(self, loop: HumanLoop) -> str:
        """`<output path>/<flow definition name>/YYYY/MM/DD/hh/mm/ss/<loop name>/output.json`."""
        created = self._flow_by_arn(loop.flow_definition_arn)
        base = (created["OutputConfig"]["S3OutputPath"] if created else
                self.flow_definitions.get(loop.flow_definition_arn, self.output_s3_path)).rstrip("/")
        flow_name = loop.flow_definition_arn.split(":flow-definition/", 1)[1]
        stamp = loop.creation_time.astimezone(UTC).strftime("%Y/%m/%d/%H/%M/%S")
        return f"{base}/{flow_name}/{stamp}/{loop.name}/output.json"

    def input_of(self, loop: HumanLoop) -> dict[str, Any]:
        """The loop's input content, following an `inputContentS3Uri` reference when it has one."""
        content = json.loads(loop.input_content)
        reference = content.get("inputContentS3Uri") if isinstance(content, dict) else None
        if isinstance(reference, str):
            bucket, key = _split_s3(reference)
            content = json.loads(self._s3().get_object(Bucket=bucket, Key=key)["Body"].read())
        return content

    def answer(self, name: str, answer_content: Mapping[str, Any], *, worker_id: str = "local-reviewer",
               time_spent_s: int = 0) -> str:
        """Complete loop `name` with one worker's answer; return the output.json URI.

        `answer_content` is what the worker template submits, for example
        `{"category": {"label": "home-wins"}}` or `{"annotatedResult": {"boundingBoxes": [...],
        "inputImageProperties": {"width": 640, "height": 480}}}`.
        """
        if not isinstance(answer_content, Mapping) or not answer_content:
            raise _validation("answerContent must be a non-empty JSON object")
        with self._lock:
            loop = self._loop(name)
            if loop.status != "InProgress":
                raise A2IError(409, "ConflictException", f"HumanLoop {name} is {loop.status}, not InProgress")
            loop.status = "Completing"  # claims the loop against a concurrent second submission
        try:
            submitted = self.clock()
            worker_sub = re.sub(r"[^A-Za-z0-9_.@-]", "-", worker_id)[:128] or "local-reviewer"
            output = {
                "flowDefinitionArn": loop.flow_definition_arn,
                "humanAnswers": [{
                    "acceptanceTime": _iso(submitted),
                    "answerContent": dict(answer_content),
                    "submissionTime": _iso(submitted),
                    "timeSpentInSeconds": time_spent_s,
                    "workerId": worker_sub,
                    "workerMetadata": {"identityData": {"identityProviderType": "Cognito",
                                                        "issuer": "local-a2i-emulator", "sub": worker_sub}},
                }],
                "humanLoopName": loop.name,
                "inputContent": json.loads(loop.input_content),
            }
            uri = self.output_uri(loop)
            self._put_output(uri, json.dumps(output).encode())
        except Exception:
            with self._lock:
                loop.status = "InProgress"
            raise
        with self._lock:
            loop.status, loop.output_s3_uri = "Completed", uri
        self._put_status_change(loop)
        return uri

    def _put_output(self, uri: str, body: bytes) -> None:
        bucket, key = _split_s3(uri)
        try:
            self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
        except self._s3().exceptions.NoSuchBucket:
            # Locally no flow definition created the output bucket: stand in for it, once.
            self._s3().create_bucket(Bucket=bucket)
            self._s3().put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    def fail(self, name: str, *, code: str = "Expired", reason: str = "No worker submitted before the task expired") -> None:
        """Mark loop `name` Failed (A2I failure codes: ValidationError, Expired, InternalError)."""
        with self._lock:
            loop = self._loop(name)
            if loop.status != "InProgress":
                raise A2IError(409, "ConflictException", f"HumanLoop {name} is {loop.status}, not InProgress")
            loop.status, loop.failure_code, loop.failure_reason = "Failed", code, reason
        self._put_status_change(loop)

    def _put_status_change(self, loop: HumanLoop) -> None:
        detail = {
            "creationTime": _iso(loop.creation_time), "failureCode": loop.failure_code,
            "failureReason": loop.failure_reason, "flowDefinitionArn": loop.flow_definition_arn,
            "humanLoopArn": loop.arn, "humanLoopName": loop.name,
            "humanLoopOutput": {"outputS3Uri": loop.output_s3_uri} if loop.output_s3_uri else None,
            "humanLoopStatus": loop.status,
        }
        response = self._events().put_events(Entries=[{
            "Source": "aws.sagemaker", "DetailType": STATUS_CHANGE, "Resources": [loop.arn],
            "Detail": json.dumps(detail), "EventBusName": self.event_bus_name,
        }])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"status-change event not accepted: {response['Entries']}")

    # --- the SageMaker control plane: flow definitions and human task UIs -------------------
    def _flow_by_arn(self, arn: str) -> dict[str, Any] | None:
        name = arn.split(":flow-definition/", 1)[-1]
        found = self.created_flow_definitions.get(name)
        return found if found and found["FlowDefinitionArn"] == arn else None

    def sagemaker(self, operation: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """One SageMaker control-plane call (X-Amz-Target `SageMaker.<operation>`)."""
        handlers = {
            "CreateHumanTaskUi": self._create_human_task_ui, "DescribeHumanTaskUi": self._describe_human_task_ui,
            "DeleteHumanTaskUi": self._delete_human_task_ui, "CreateFlowDefinition": self._create_flow_definition,
            "DescribeFlowDefinition": self._describe_flow_definition,
            "DeleteFlowDefinition": self._delete_flow_definition,
        }
        if operation not in handlers:
            raise A2IError(400, "UnknownOperationException", f"{operation} is not served by the local A2I emulator")
        _validate_input(operation, body)
        with self._lock:
            return handlers[operation](body)

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{kind}/{name}"

    def _create_human_task_ui(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["HumanTaskUiName"]
        if name in self.human_task_uis:
            raise A2IError(400, "ResourceInUse", f"HumanTaskUi {name} already exists")
        arn = self._arn("human-task-ui", name)
        self.human_task_uis[name] = {"HumanTaskUiArn": arn, "HumanTaskUiName": name, "HumanTaskUiStatus": "Active",
                                     "CreationTime": self.clock().timestamp(),
                                     "UiTemplate": {"Url": f"s3://local-a2i/{name}.html",
                                                    "ContentSha256": _sha256(body["UiTemplate"]["Content"])},
                                     "_content": body["UiTemplate"]["Content"]}
        return {"HumanTaskUiArn": arn}

    def _human_task_ui(self, name: str) -> dict[str, Any]:
        found = self.human_task_uis.get(name)
        if found is None:
            raise A2IError(400, "ResourceNotFound", f"HumanTaskUi {name} not found")
        return found

    def _describe_human_task_ui(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in self._human_task_ui(body["HumanTaskUiName"]).items() if not k.startswith("_")}

    def _delete_human_task_ui(self, body: Mapping[str, Any]) -> dict[str, Any]:
        ui = self._human_task_ui(body["HumanTaskUiName"])
        users = [f for f in self.created_flow_definitions.values()
                 if f["HumanLoopConfig"]["HumanTaskUiArn"] == ui["HumanTaskUiArn"]]
        if users:
            raise A2IError(400, "ResourceInUse", f"HumanTaskUi {ui['HumanTaskUiName']} is used by "
                                                 f"{users[0]['FlowDefinitionName']}")
        del self.human_task_uis[ui["HumanTaskUiName"]]
        return {}

    def _create_flow_definition(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["FlowDefinitionName"]
        if name in self.created_flow_definitions:
            raise A2IError(400, "ResourceInUse", f"FlowDefinition {name} already exists")
        config = dict(body["HumanLoopConfig"])
        ui_name = str(config["HumanTaskUiArn"]).rsplit("/", 1)[-1]
        if self.human_task_uis.get(ui_name, {}).get("HumanTaskUiArn") != config["HumanTaskUiArn"]:
            raise _validation(f"HumanTaskUi {config['HumanTaskUiArn']} does not exist")
        try:
            _split_s3(body["OutputConfig"]["S3OutputPath"] + "/")
        except ValueError:
            raise _validation("OutputConfig.S3OutputPath must be an s3:// URI") from None
        arn = self._arn("flow-definition", name)
        self.created_flow_definitions[name] = {
            "FlowDefinitionArn": arn, "FlowDefinitionName": name, "FlowDefinitionStatus": "Active",
            "CreationTime": self.clock().timestamp(), "HumanLoopConfig": config,
            "OutputConfig": dict(body["OutputConfig"]), "RoleArn": body["RoleArn"],
        }
        return {"FlowDefinitionArn": arn}

    def _flow_definition(self, name: str) -> dict[str, Any]:
        found = self.created_flow_definitions.get(name)
        if found is None:
            raise A2IError(400, "ResourceNotFound", f"FlowDefinition {name} not found")
        return found

    def _describe_flow_definition(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._flow_definition(body["FlowDefinitionName"]))

    def _delete_flow_definition(self, body: Mapping[str, Any]) -> dict[str, Any]:
        flow = self._flow_definition(body["FlowDefinitionName"])
        if any(loop.flow_definition_arn == flow["FlowDefinitionArn"] and loop.status == "InProgress"
               for loop in self.loops.values()):
            raise A2IError(400, "ResourceInUse", f"FlowDefinition {flow['FlowDefinitionName']} has loops in progress")
        del self.created_flow_definitions[flow["FlowDefinitionName"]]
        return {}

    # --- the reviewer page's JSON API --------------------------------------------------------
    def open_loops(self) -> list[dict[str, Any]]:
        with self._lock:
            loops = [loop for loop in self.loops.values() if loop.status == "InProgress"]
        loops.sort(key=lambda loop: (loop.creation_time, loop.name))
        result = []
        for loop in loops:
            content = json.loads(loop.input_content)
            result.append({"name": loop.name, "creationTime": _iso(loop.creation_time),
                           "taskType": content.get("taskType", "classification"),
                           "policy": content.get("policy"), "reason": content.get("reason")})
        return result

    def task(self, name: str) -> dict[str, Any]:
        with self._lock:
            loop = self._loop(name)
        content = self.input_of(loop)
        return {"name": loop.name, "status": loop.status, "flowDefinitionArn": loop.flow_definition_arn,
                "creationTime": _iso(loop.creation_time), "input": content,
                "objectUrl": f"/review/api/loops/{loop.name}/object" if content.get("taskObject") else None}

    def task_object(self, name: str) -> tuple[bytes, str]:
        with self._lock:
            loop = self._loop(name)
        uri = self.input_of(loop).get("taskObject")
        if not isinstance(uri, str):
            raise NotFound("this loop has no task object")
        bucket, key = _split_s3(uri)
        if bucket not in self.task_object_buckets and bucket not in set(self.own_task_buckets()):
            raise Forbidden("the task object is not in a bucket this stack lists (ReviewTaskObjectBuckets)")
        response = self._s3().get_object(Bucket=bucket, Key=key)
        content_type = response.get("ContentType") or mimetypes.guess_type(key)[0] or "application/octet-stream"
        return response["Body"].read(), content_type

    # --- WSGI --------------------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        target = request.headers.get("X-Amz-Target", "")
        if request.method == "POST" and target.startswith("SageMaker."):
            try:
                return _json(self.sagemaker(target.removeprefix("SageMaker."), _body(request)),
                             content_type="application/x-amz-json-1.1")
            except A2IError as error:
                return _json_1_1_error(error)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except HTTPException as error:
            if request.path.startswith("/human-loops"):
                return _error(A2IError(404, "UnknownOperationException", "Unknown operation"))
            return error  # type: ignore[return-value]
        try:
            return self._route(endpoint, args, request)
        except A2IError as error:
            return _error(error)
        except HTTPException as error:
            return error  # type: ignore[return-value]

    def _route(self, endpoint: str, args: Mapping[str, Any], request: Request) -> Response:
        if endpoint == "start":
            return _json(self.start_human_loop(_body(request)))
        if endpoint == "list":
            return _json(self.list_human_loops(request.args))
        if endpoint == "stop":
            return _json(self.stop_human_loop(_body(request)))
        if endpoint == "describe":
            return _json(self.describe_human_loop(args["name"]))
        if endpoint == "delete":
            return _json(self.delete_human_loop(args["name"]))
        if endpoint == "home":
            return redirect("/review/")
        if endpoint == "page":
            return _static("index.html")
        if endpoint == "static":
            return _static(args["filename"])
        if endpoint == "open_loops":
            return _json({"loops": self.open_loops()})
        if endpoint == "task":
            return _json(self.task(args["name"]))
        if endpoint == "task_object":
            data, content_type = self.task_object(args["name"])
            # The object is the task's data, never a page: whatever its type says, it cannot run
            # script on the reviewer's origin (sandboxed, no sniffing).
            return Response(data, content_type=content_type, headers={
                "Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff"})
        if endpoint == "submit":
            body = _body(request)
            uri = self.answer(args["name"], body.get("answerContent") or {},
                              worker_id=str(body.get("workerId") or "local-reviewer"),
                              time_spent_s=int(body.get("timeSpentInSeconds") or 0))
            return _json({"outputS3Uri": uri, "status": "Completed"})
        raise NotFound()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self.dispatch(Request(environ))(environ, start_response)


def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except json.JSONDecodeError:
        raise A2IError(400, "SerializationException", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise A2IError(400, "SerializationException", "Request body must be a JSON object")
    return body


def _json(body: Mapping[str, Any], status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type,
                    headers={"x-amzn-RequestId": str(uuid.uuid4())})


def _json_1_1_error(error: A2IError) -> Response:
    return _json({"__type": error.code, "message": error.message}, error.status, "application/x-amz-json-1.1")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _sagemaker_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def _validate_input(operation: str, body: Mapping[str, Any]) -> None:
    """Refuse what SageMaker would: members missing or unknown, lengths, ranges and patterns of its model."""
    problems: list[str] = []
    _check_shape(_sagemaker_model().operation_model(operation).input_shape, body, operation, problems)
    if problems:
        raise _validation(f"{len(problems)} validation error(s) detected: " + "; ".join(problems[:5]))


def _check_shape(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected an object")
            return
        problems += [f"{path}.{name}: Member must not be null" for name in shape.required_members if name not in value]
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}.{name}: unknown member")
            else:
                _check_shape(shape.members[name], member, f"{path}.{name}", problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return
        for index, item in enumerate(value):
            _check_shape(shape.member, item, f"{path}[{index}]", problems)
    elif kind == "string":
        meta = shape.metadata
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string")
        elif not meta.get("min", 0) <= len(value) <= meta.get("max", 1 << 30):
            problems.append(f"{path}: Member must have length between {meta.get('min', 0)} and {meta.get('max')}")
        elif "pattern" in meta and not re.fullmatch(meta["pattern"], value, re.S):
            problems.append(f"{path}: Member must satisfy regular expression pattern: {meta['pattern']}")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: Member must satisfy enum value set: {shape.enum}")
    elif kind in ("integer", "long"):
        meta = shape.metadata
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer")
        elif not meta.get("min", -(1 << 62)) <= value <= meta.get("max", 1 << 62):
            problems.append(f"{path}: Member must have value between {meta.get('min')} and {meta.get('max')}")


def _error(error: A2IError) -> Response:
    response = _json({"message": error.message}, error.status)
    response.headers["x-amzn-ErrorType"] = error.code
    return response


def _static(filename: str) -> Response:
    path = (STATIC / filename).resolve()
    if STATIC.resolve() not in path.parents or not path.is_file():
        raise NotFound()
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type.endswith("javascript"):
        content_type += "; charset=utf-8"
    return Response(path.read_bytes(), content_type=content_type, headers={"Cache-Control": "no-store", **PAGE_HEADERS})


def make_app(*, s3: Any = None, events: Any = None, output_s3_path: str = "s3://pitwall-a2i-output/a2i",
             flow_definitions: Mapping[str, str] | None = None, region: str = "us-east-1",
             account_id: str = "123456789012", event_bus_name: str = "default",
             clock: Callable[[], datetime] | None = None, require_flow_definition: bool = False,
             task_object_buckets: Iterable[str] = (),
             own_task_buckets: Callable[[], Iterable[str]] | None = None) -> A2IEmulator:
    """Build the emulator (a WSGI app). Pass boto3 S3 and EventBridge clients of the local cloud.

    `output_s3_path` is where every flow definition writes unless `flow_definitions` maps its ARN to
    another path (A2I takes it from the flow definition's `OutputConfig.S3OutputPath`).
    """
    emulator = A2IEmulator(s3=s3, events=events, output_s3_path=output_s3_path,
                           flow_definitions=dict(flow_definitions or {}), region=region,
                           account_id=account_id, event_bus_name=event_bus_name,
                           require_flow_definition=require_flow_definition,
                           task_object_buckets=frozenset(task_object_buckets))
    if own_task_buckets is not None:
        emulator.own_task_buckets = own_task_buckets
    if clock is not None:
        emulator.clock = clock
    return emulator
