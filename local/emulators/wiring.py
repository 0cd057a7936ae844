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

    settings: dict[str, Any] = {}
    if "ReviewManifestsBucket" in cloud.resources:  # where the human_review service reads A2I output
        settings["output_s3_path"] = f"s3://{cloud.physical_id('ReviewManifestsBucket')}/a2i-output"
    settings |= cloud.emulator_settings.get("a2i", {})
    return make_app(s3=cloud.client("s3"), events=cloud.client("events"), **settings)


def firehose(cloud: LocalCloud) -> Any:
    if not _available("local.emulators.firehose"):
        return None
    from local.emulators.firehose import make_app

    return make_app(cloud=cloud, **cloud.emulator_settings.get("firehose", {}))
