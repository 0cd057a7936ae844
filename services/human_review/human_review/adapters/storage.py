"""S3 reads and writes of task objects, A2I outputs, manifest parts and manifests."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pitwall_shared.aws import client
from pitwall_shared.inputs import read_json


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key); raises naming the URI's problem."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.lstrip("/"):
        raise ValueError("uri: not an s3://bucket/key URI")  # the URI itself came with the event: not echoed
    return parsed.netloc, parsed.path.lstrip("/")


class Storage:
    """Small typed wrapper over the S3 calls human review makes."""

    def __init__(self, s3: Any = None) -> None:
        self._s3 = s3

    @property
    def s3(self) -> Any:
        return self._s3 or client("s3")

    def put_text(self, uri: str, text: str, *, content_type: str = "application/json") -> None:
        bucket, key = split_s3_uri(uri)
        # No ServerSideEncryption header: the bucket's default (the stack's KMS key) applies; its policy
        # denies a PUT that asks for anything else (template.yaml ReviewManifestsBucketPolicy).
        self.s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType=content_type)

    def get_text(self, uri: str) -> str:
        bucket, key = split_s3_uri(uri)
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()

    def get_json(self, uri: str) -> Any:
        """The object read as strict JSON (`pitwall_shared.inputs.BadInput`, never its contents)."""
        return read_json(self.get_text(uri), what="object")

    def list_uris(self, prefix_uri: str) -> list[str]:
        """Every object under `prefix_uri`, sorted by key."""
        bucket, prefix = split_s3_uri(prefix_uri)
        keys: list[str] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return [f"s3://{bucket}/{key}" for key in sorted(keys)]
