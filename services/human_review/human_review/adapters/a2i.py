"""Amazon Augmented AI runtime: start and describe human loops.

botocore already retries `ThrottlingException` (adaptive mode adds client-side rate limiting); a
few more spaced attempts here ride out a longer burst before the message goes back to the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from human_review.models import MAX_INPUT_CONTENT_CHARS
from pitwall_shared.aws import client

THROTTLE_ATTEMPTS = 3
_THROTTLING = {"ThrottlingException", "TooManyRequestsException", "ServiceUnavailable"}


class HumanLoops:
    """`StartHumanLoop` where a name in use counts as done."""

    def __init__(self, a2i: Any = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._a2i = a2i
        self.sleep = sleep

    @property
    def a2i(self) -> Any:
        return self._a2i or client("sagemaker-a2i-runtime", retry_mode="adaptive")

    def start(self, *, name: str, flow_definition_arn: str, input_content: str, free_of_pii: bool) -> str:
        """Start loop `name` and return its ARN; an existing loop of that name is returned as is."""
        if len(input_content) > MAX_INPUT_CONTENT_CHARS:
            raise ValueError(f"input content is {len(input_content)} characters, over {MAX_INPUT_CONTENT_CHARS}")
        request: dict[str, Any] = {
            "HumanLoopName": name, "FlowDefinitionArn": flow_definition_arn,
            "HumanLoopInput": {"InputContent": input_content},
        }
        if free_of_pii:
            request["DataAttributes"] = {"ContentClassifiers": ["FreeOfPersonallyIdentifiableInformation"]}
        for attempt in range(THROTTLE_ATTEMPTS):
            try:
                return str(self.a2i.start_human_loop(**request)["HumanLoopArn"])
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code == "ConflictException":
                    # The loop exists: a duplicate delivery or a retry after a lost response.
                    return self.describe(name)["HumanLoopArn"]
                if code not in _THROTTLING or attempt == THROTTLE_ATTEMPTS - 1:
                    raise
                self.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def stop(self, name: str) -> None:
        """`StopHumanLoop`; a loop already finished or unknown counts as stopped (a repeat is harmless)."""
        try:
            self.a2i.stop_human_loop(HumanLoopName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("ResourceNotFound", "ResourceNotFoundException",
                                                         "ValidationException", "ConflictException"):
                raise

    def describe(self, name: str) -> dict[str, Any]:
        return dict(self.a2i.describe_human_loop(HumanLoopName=name))
