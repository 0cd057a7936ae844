"""A polling loop in a daemon thread, shared by the SQS and Kinesis pollers."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("pitwall.local")


class Poller:
    """Calls `poll_once()` until stopped; sleeps `idle_s` when a poll found nothing."""

    idle_s = 0.1

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.errors = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception:  # noqa: BLE001 - a poller must outlive a bad poll, as Lambda's does
                self.errors += 1
                log.exception("poller %s failed; retrying", self.name)
                busy = False
            if not busy:
                time.sleep(self.idle_s)

    def poll_once(self) -> bool:
        raise NotImplementedError
