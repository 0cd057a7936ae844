"""How each emulator is built from the local cloud (its clients, settings and the runner).

A builder returns a WSGI app, or None when that emulator's module is not part of this checkout.
"""

from __future__ import annotations

import importlib.util
from typing import Any, Protocol


class LocalCloud(Protocol):
    """What a builder reads from the local cloud (`local.cloud.LocalCloud` is one)."""

    resources: dict[str, str]
    emulator_settings: dict[str, Any]
    parameters: dict[str, str]  # the template parameters the stack deploys with

    def client(self, service: str) -> Any: ...

    def physical_id(self, logical_id: str) -> str: ...


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def comprehend(cloud: LocalCloud) -> Any:
    if not _available("local.emulators.comprehend"):
        return None
    from local.process_server import OwnProcess

    # spaCy's per-request work would hold the GIL of the process that serves moto: own process.
    return OwnProcess("local.emulators.comprehend:make_app", dict(cloud.emulator_settings.get("comprehend", {})))


def a2i(cloud: LocalCloud) -> Any:
    if not _available("local.emulators.a2i"):
        return None
    from local.emulators.a2i import make_app

    # It starts before the stack: the stack's flow definition (created through it) says where
    # output goes, and a loop naming a flow definition that does not exist is refused, as in AWS.
    # The reviewer page reads task objects only from the buckets the stack lists (A2I's role may read
    # only those in AWS).
    listed = cloud.parameters.get("ReviewTaskObjectBuckets", "")
    settings: dict[str, Any] = {"require_flow_definition": True,
                                "task_object_buckets": [b.strip() for b in listed.split(",") if b.strip()],
                                "own_task_buckets": lambda: [cloud.resources[r] for r in ("PiiRawBucket",) if r in cloud.resources]}
    settings |= cloud.emulator_settings.get("a2i", {})
    return make_app(s3=cloud.client("s3"), events=cloud.client("events"), **settings)


def firehose(cloud: LocalCloud) -> Any:
    if not _available("local.emulators.firehose"):
        return None
    from local.emulators.firehose import make_app

    return make_app(cloud=cloud, **cloud.emulator_settings.get("firehose", {}))
