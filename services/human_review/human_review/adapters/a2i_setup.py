"""SageMaker control plane for the stack's A2I objects (human task UI, flow definition), and the
PUT of a custom resource's response to CloudFormation.

The response is sent here rather than with a library: crhelper speaks only HTTPS (the local
cloud's response URL is plain HTTP on loopback) and retries a failed send forever, and AWS's
cfnresponse prints the presigned response URL to the log and drops a failed send.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from pitwall_shared.aws import client

RESPONSE_ATTEMPTS = 4
RESPONSE_TIMEOUT_S = 10.0


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class A2iSetup:
    """Create-or-find and delete of the two objects; names are deterministic (see logic.flow_setup)."""

    def __init__(self, sagemaker: Any = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sagemaker = sagemaker
        self.sleep, self.clock = sleep, clock

    @property
    def sagemaker(self) -> Any:
        return self._sagemaker or client("sagemaker", read_timeout=30)

    def ensure_human_task_ui(self, request: dict[str, Any]) -> tuple[str, bool]:
        """Create the UI, or find the one a retried request already made: (ARN, created now)."""
        try:
            return str(self.sagemaker.create_human_task_ui(**request)["HumanTaskUiArn"]), True
        except ClientError as error:
            if _code(error) != "ResourceInUse":
                raise
        described = self.sagemaker.describe_human_task_ui(HumanTaskUiName=request["HumanTaskUiName"])
        return str(described["HumanTaskUiArn"]), False

    def delete_human_task_ui(self, name: str) -> None:
        """Delete the UI; an absent one is done."""
        try:
            self.sagemaker.delete_human_task_ui(HumanTaskUiName=name)
        except ClientError as error:
            if _code(error) != "ResourceNotFound":
                raise

    def ensure_flow_definition(self, request: dict[str, Any], *, deadline_s: float) -> str:
        """Create the flow definition (or find it) and wait until it is Active; return its ARN."""
        name = request["FlowDefinitionName"]
        try:
            self.sagemaker.create_flow_definition(**request)
        except ClientError as error:
            if _code(error) != "ResourceInUse":
                raise
        while True:
            described = self.sagemaker.describe_flow_definition(FlowDefinitionName=name)
            status = described.get("FlowDefinitionStatus")
            if status == "Active":
                return str(described["FlowDefinitionArn"])
            if status == "Failed":
                raise RuntimeError(f"flow definition {name} failed: {described.get('FailureReason', 'no reason given')}")
            if self.clock() > deadline_s:
                raise TimeoutError(f"flow definition {name} is still {status}")
            self.sleep(2)

    def delete(self, flow_definition_name: str, *, deadline_s: float) -> None:
        """Delete the flow definition, wait until it is gone, then delete its UI; absent ones are done."""
        ui_arn = None
        try:
            described = self.sagemaker.describe_flow_definition(FlowDefinitionName=flow_definition_name)
            ui_arn = described.get("HumanLoopConfig", {}).get("HumanTaskUiArn")
            self.sagemaker.delete_flow_definition(FlowDefinitionName=flow_definition_name)
        except ClientError as error:
            if _code(error) != "ResourceNotFound":
                raise
        while self._flow_exists(flow_definition_name):
            if self.clock() > deadline_s:
                raise TimeoutError(f"flow definition {flow_definition_name} is still being deleted")
            self.sleep(2)
        self.delete_human_task_ui(ui_arn.rsplit("/", 1)[-1] if ui_arn else flow_definition_name)

    def _flow_exists(self, name: str) -> bool:
        try:
            self.sagemaker.describe_flow_definition(FlowDefinitionName=name)
        except ClientError as error:
            if _code(error) == "ResourceNotFound":
                return False
            raise
        return True


def send_response(url: str, body: dict[str, Any], *, sleep: Callable[[float], None] = time.sleep) -> None:
    """PUT the custom resource's response (an empty Content-Type, as the presigned URL is signed)."""
    if not url.startswith(("https://", "http://")):
        raise ValueError("ResponseURL is not an http(s) URL")
    data = json.dumps(body).encode()
    for attempt in range(RESPONSE_ATTEMPTS):
        request = urllib.request.Request(url, data=data, method="PUT",  # noqa: S310 - scheme checked above
                                         headers={"Content-Type": "", "Content-Length": str(len(data))})
        try:
            with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_S):  # noqa: S310 - scheme checked above
                return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            if attempt == RESPONSE_ATTEMPTS - 1:
                raise
            sleep(1.0 * 2**attempt)
