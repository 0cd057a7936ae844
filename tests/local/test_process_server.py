"""An emulator served from its own process: reachable at once, answers after loading, clear on failure."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from local.process_server import OwnProcess, ProcessServer


def test_serves_the_built_app_from_another_process():
    server = ProcessServer(OwnProcess("local.emulators.comprehend:make_app", {"use_model": False}),
                           "127.0.0.1", 0, "comprehend-test")
    try:
        server.wait_ready(timeout=120)
        assert server.pid is not None and server.pid != os.getpid()
        request = urllib.request.Request(  # noqa: S310 - loopback
            server.url + "/", method="POST", data=json.dumps({"Text": "mail ann@example.com", "LanguageCode": "en"}).encode(),
            headers={"X-Amz-Target": "Comprehend_20171127.DetectPiiEntities",
                     "Content-Type": "application/x-amz-json-1.1"})
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            entities = json.loads(response.read())["Entities"]
        assert [entity["Type"] for entity in entities] == ["EMAIL"]
    finally:
        server.stop()
    assert not server._process.is_alive()


def test_a_factory_that_fails_is_reported_with_its_name():
    server = ProcessServer(OwnProcess("local.emulators.comprehend:make_app", {"no_such_setting": 1}),
                           "127.0.0.1", 0, "broken")
    try:
        with pytest.raises(RuntimeError, match="local.emulators.comprehend:make_app failed to build"):
            server.wait_ready(timeout=120)
    finally:
        server.stop()
