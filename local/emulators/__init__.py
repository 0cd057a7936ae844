"""Emulators for the AWS APIs moto lacks, speaking the real wire protocols.

`registry()` lists what the local cloud serves. Emulators that functions call (Comprehend, A2I)
start before the functions so their endpoint variables reach the workers; the Firehose emulator
invokes a function, so it starts after the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.cloud import Emulator


def registry(*, before_functions: bool) -> list[Emulator]:
    """The emulators to start in this phase of `LocalCloud.start()`."""
    from local.cloud import Emulator
    from local.emulators import wiring

    every = [
        Emulator("comprehend", "AWS_ENDPOINT_URL_COMPREHEND", wiring.comprehend, "comprehend"),
        Emulator("a2i", "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", wiring.a2i, "a2i"),
        Emulator("firehose", "AWS_ENDPOINT_URL_FIREHOSE", wiring.firehose, "firehose"),
    ]
    late = {"firehose"}
    return [e for e in every if (e.name in late) != before_functions]
