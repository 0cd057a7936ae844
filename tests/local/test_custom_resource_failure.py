"""A custom resource whose function answers FAILED stops the local stack with the function's
reason, as CloudFormation's CREATE_FAILED would, and the failed start leaves nothing running.
(A module of its own: a local cloud resets moto, so it cannot share a process-wide cloud.)"""

from __future__ import annotations

import socket

import pytest

from local.cloud import LocalCloud
from local.custom_resources import CustomResourceError
from tests.local.test_local_cloud import FIXTURE


def test_a_failed_answer_fails_the_start_with_its_reason_and_stops_everything(tmp_path):
    cloud = LocalCloud(FIXTURE, stack_name="echo", parameters={"EchoThingStatus": "FAILED"}, log_dir=tmp_path)
    with pytest.raises(CustomResourceError, match=r"did not deploy: EchoThing: asked to answer FAILED"):
        cloud.start()
    host, port = cloud.moto.get_host_and_port()
    with socket.socket() as probe:
        assert probe.connect_ex((host, port)) != 0, "moto still serves after the failed start"
    assert cloud.runner is None  # no function was started for a stack that does not exist
