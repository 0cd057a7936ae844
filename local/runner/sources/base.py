"""A polling loop in daemon threads, shared by the SQS and Kinesis pollers."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("pitwall.local")


class Poller:
    """Calls `poll_once()` until stopped, from `threads` threads at once (concurrent batches);
    each sleeps `idle_s` when its poll found nothing. `count()` keeps counters exact across them."""

    idle_s = 0.1

    def __init__(self, name: str, threads: int = 1) -> None:
        self.name = name
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}#{i}", daemon=True) for i in range(threads)]
        self._counter_lock = threading.Lock()
        self.errors = 0
        # Per thread: (polls finished, whether the last one found nothing) -- see `idle_since`.
        self._rounds: dict[str, tuple[int, bool]] = {thread.name: (0, False) for thread in self._threads}

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def count(self, attribute: str, amount: int) -> None:
        with self._counter_lock:
            setattr(self, attribute, getattr(self, attribute) + amount)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except Exception:  # noqa: BLE001 - a poller must outlive a bad poll, as Lambda's does
                self.count("errors", 1)
                log.exception("poller %s failed; retrying", self.name)
                busy = False
            name = threading.current_thread().name
            self._rounds[name] = (self._rounds[name][0] + 1, not busy)
            if not busy:
                time.sleep(self.idle_s)

    def rounds(self) -> dict[str, int]:
        """A mark to pass to `idle_since`: how many polls each thread has finished so far."""
        return {name: done for name, (done, _) in self._rounds.items()}

    def idle_since(self, mark: dict[str, int]) -> bool:
        """Whether every thread has finished a poll after `mark` and its last poll found nothing
        (so nothing it took before the mark is still being handled)."""
        return all(done > mark[name] and idle for name, (done, idle) in self._rounds.items())

    def poll_once(self) -> bool:
        raise NotImplementedError
