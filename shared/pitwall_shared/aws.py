"""One boto3 client per AWS service per process, with explicit timeouts and retry mode.

botocore itself honours `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` (for example
`AWS_ENDPOINT_URL_COMPREHEND`), which is how the local cloud routes each client to moto or to an
emulator; nothing here special-cases local runs.

Example::

    table = client("dynamodb")            # the same object on every call in this process
    table.get_item(TableName=..., Key=...)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5
MAX_ATTEMPTS = 4


@functools.cache
def client(service_name: str, *, retry_mode: str = "standard", read_timeout: float = READ_TIMEOUT_S,
           max_attempts: int = MAX_ATTEMPTS) -> Any:
    """Return this process's client for `service_name` (created on first use).

    `retry_mode` is botocore's: "standard" or "adaptive" (client-side rate limiting for APIs that
    throttle, such as Comprehend).

    >>> client("sqs") is client("sqs")
    True
    """
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=read_timeout,
        retries={"mode": retry_mode, "max_attempts": max_attempts},
    )
    return boto3.session.Session().client(service_name, config=config)  # type: ignore[call-overload]


class DynamoTableAdapter:
    """Base of a service's DynamoDB adapters: the table's name and the client to reach it.

    The client is this process's shared one (`client("dynamodb")`) unless one is given, as tests do.

    Example::

        class LoopsTable(DynamoTableAdapter):
            def get(self, name: str) -> dict:
                return self.dynamodb.get_item(TableName=self.table_name, Key={"pk": {"S": name}})
    """

    def __init__(self, table_name: str, dynamodb: Any = None) -> None:
        self.table_name = table_name
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        return self._dynamodb if self._dynamodb is not None else client("dynamodb")


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore `ClientError` (None for any other exception)."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    return str(code) if code is not None else None


def conditional_check_failed(error: BaseException) -> bool:
    """True when DynamoDB refused a write because its condition did not hold.

    `ConditionalCheckFailedException` for PutItem / UpdateItem / DeleteItem; for
    TransactWriteItems, `TransactionCanceledException` whose cancellation reasons name
    `ConditionalCheckFailed` (or give no reasons at all, as some emulators do). Any other error,
    throttling included, is False: the caller re-raises it.
    """
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons = getattr(error, "response", {}).get("CancellationReasons") or []
    return not reasons or any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


def conditional_write(write: Callable[[], object]) -> bool:
    """Run one conditional DynamoDB write: True when it was written, False when its condition did
    not hold (`conditional_check_failed`); any other error is raised.

    Example::

        created = conditional_write(lambda: table.put_item(..., ConditionExpression="attribute_not_exists(pk)"))
    """
    try:
        write()
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True
