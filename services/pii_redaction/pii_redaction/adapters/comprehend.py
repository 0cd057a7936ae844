"""Comprehend calls of one batch: a bounded thread pool, a requests-per-second ceiling, retries of
throttling and server errors with exponential backoff and full jitter, and a deadline taken from the
invocation's remaining time, after which no call starts (its result is a failure, so screening
fails closed).

botocore's own retries are off: they would sleep without knowing the deadline, and their attempts
would not pass the rate limiter. (botocore's `max_attempts` counts retries, not attempts: 0 is one
attempt; the 1 used until issue 12 item 4 made every throttled call a second, unpaced request.)
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pii_redaction.logic.planning import Span
from pii_redaction.logic.ports import Call, CallResult

RETRYABLE = frozenset({"ThrottlingException", "TooManyRequestsException", "InternalServerException",
                       "ServiceUnavailableException", "RequestTimeout"})
BASE_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0


class RateLimiter:
    """Spaces call starts at least `1/rps` apart across threads (a leaky bucket without burst)."""

    def __init__(self, rps: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rps
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self, deadline: float) -> bool:
        """Wait for a slot; False (without waiting) when the slot would come after `deadline`."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if slot > deadline:
                return False
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)
        return True


@dataclass
class ComprehendGateway:
    """Runs `Call`s against Comprehend; see the module docstring."""

    client: Any
    max_concurrency: int = 8
    max_rps: float = 45.0
    max_attempts: int = 6
    deadline: float = float("inf")  # time.monotonic() value after which no call starts
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.max_rps, self.clock, self.sleep)
        self.throttled = 0

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        if len(calls) == 1 or self.max_concurrency == 1:
            return [self._call(call) for call in calls]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(calls))) as pool:
            return list(pool.map(self._call, calls))

    def _call(self, call: Call) -> CallResult:
        error = "not attempted"
        for attempt in range(self.max_attempts):
            if not self.limiter.acquire(self.deadline):
                return CallResult(error="deadline")
            started = self.clock()
            try:
                response = self._send(call)
            except ClientError as exc:
                error = exc.response.get("Error", {}).get("Code", "ClientError")
                if error == "ThrottlingException":
                    self.throttled += 1
                if error not in RETRYABLE:
                    return CallResult(error=error)
            except BotoCoreError as exc:  # timeouts, connection resets: worth another try
                error = type(exc).__name__
            else:
                latency = (self.clock() - started) * 1000
                return self._result(call, response, latency)
            backoff = self.rng.uniform(0, min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2**attempt))
            if self.clock() + backoff > self.deadline:
                return CallResult(error="deadline")
            self.sleep(backoff)
        return CallResult(error=error)

    def _send(self, call: Call) -> Any:
        if call.api == "ContainsPiiEntities":
            return self.client.contains_pii_entities(Text=call.text, LanguageCode=call.language)
        return self.client.detect_pii_entities(Text=call.text, LanguageCode=call.language)

    @staticmethod
    def _result(call: Call, response: dict[str, Any], latency_ms: float) -> CallResult:
        if call.api == "ContainsPiiEntities":
            labels: dict[str, float] = {}
            for label in response.get("Labels", []):
                labels[label["Name"]] = max(labels.get(label["Name"], 0.0), float(label["Score"]))
            return CallResult(labels=labels, latency_ms=latency_ms)
        spans = tuple(Span(e["Type"], int(e["BeginOffset"]), int(e["EndOffset"]), float(e["Score"]))
                      for e in response.get("Entities", []))
        return CallResult(spans=spans, latency_ms=latency_ms)


def comprehend_client(read_timeout: float = 5.0) -> Any:
    """This process's Comprehend client: one attempt per request (the gateway retries, paced)."""
    from pitwall_shared.aws import client

    return client("comprehend", read_timeout=read_timeout, max_attempts=0)
