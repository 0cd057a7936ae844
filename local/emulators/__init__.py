"""Emulators for the AWS APIs moto lacks, speaking the real wire protocols.

`registry()` lists what the local cloud serves. Emulators that functions call (Comprehend, A2I)
start before the functions so their endpoint variables reach the workers; the Firehose emulator
invokes a function, so it starts after the runner. Nothing here imports the local cloud: the
builders in `wiring.py` take it as an argument (typed by the small protocol there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.emulators import wiring


@dataclass
class Emulator:
    """An emulator served by the local cloud: a WSGI app and the endpoint variable that routes to it.

    `build` returns the app (served on a thread of this process), an `OwnProcess` (served from a
    process of its own: for emulators whose CPU work would starve moto), or None (not in this checkout).
    """

    name: str
    endpoint_variable: str | None
    build: Callable[[Any], Any]
    port_attribute: str
    server: Any = None
    url: str = ""
    also_variables: tuple[str, ...] = ()  # further endpoint variables the same server answers

    @property
    def variables(self) -> tuple[str, ...]:
        """Every endpoint variable that routes to this emulator."""
        return ((self.endpoint_variable,) if self.endpoint_variable else ()) + self.also_variables


def registry(*, before_functions: bool) -> list[Emulator]:
    """The emulators to start in this phase of `LocalCloud.start()`."""
    every = [
        Emulator("comprehend", "AWS_ENDPOINT_URL_COMPREHEND", wiring.comprehend, "comprehend"),
        # The A2I runtime, and the SageMaker calls that set A2I up (flow definitions, task UIs).
        Emulator("a2i", "AWS_ENDPOINT_URL_SAGEMAKER_A2I_RUNTIME", wiring.a2i, "a2i",
                 also_variables=("AWS_ENDPOINT_URL_SAGEMAKER",)),
        Emulator("firehose", "AWS_ENDPOINT_URL_FIREHOSE", wiring.firehose, "firehose"),
    ]
    late = {"firehose"}
    return [e for e in every if (e.name in late) != before_functions]
