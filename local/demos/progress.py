"""One progress bar per sample stream of `make run`: records sent and processed, rate and lag.

Demos receive a `StreamProgress` as `options.progress` and report through `stream(name, total)`;
without a terminal (CI, tests) the same calls cost nothing visible.

Example::

    bar = options.progress.stream("F1 timing messages", total=len(messages))
    bar.sent(20)        # posted
    bar.processed(20)   # accepted by the function
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text


@dataclass
class StreamCounter:
    """Counts of one stream; `task_id` is its row in the rich progress display."""

    name: str
    progress: Progress | None
    task_id: Any
    total: int | None = None
    sent_count: int = 0
    processed_count: int = 0
    started: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, count: int = 1) -> None:
        with self.lock:
            self.sent_count += count
        self._refresh()

    def processed(self, count: int = 1) -> None:
        with self.lock:
            self.processed_count += count
        self._refresh()

    def set_total(self, total: int) -> None:
        self.total = total
        self._refresh()

    def _refresh(self) -> None:
        if self.progress is not None:
            self.progress.update(self.task_id, total=self.total, completed=self.processed_count,
                                 sent=self.sent_count, started=self.started)

    def figures(self) -> dict[str, Any]:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {"sent": self.sent_count, "processed": self.processed_count,
                "rate_per_s": round(self.processed_count / elapsed, 1), "lag": self.sent_count - self.processed_count}


class _FlowColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        sent = int(task.fields.get("sent", 0))
        done = int(task.completed)
        elapsed = max(time.monotonic() - float(task.fields.get("started", time.monotonic())), 1e-9)
        return Text(f"sent {sent:>6}  processed {done:>6}  {done / elapsed:7.1f}/s  lag {sent - done:>5}")


class StreamProgress:
    """The progress display of a `make run`; `stream()` adds a bar."""

    def __init__(self, enabled: bool = True) -> None:
        self.display = Progress(TextColumn("{task.description:<26}"), BarColumn(bar_width=24), _FlowColumn(),
                                TimeElapsedColumn(), transient=False) if enabled else None
        self.streams: list[StreamCounter] = []

    def stream(self, name: str, total: int | None = None) -> StreamCounter:
        task_id = self.display.add_task(name, total=total, sent=0, started=time.monotonic()) if self.display else None
        counter = StreamCounter(name, self.display, task_id, total)
        self.streams.append(counter)
        return counter

    def __enter__(self) -> StreamProgress:
        if self.display is not None:
            self.display.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.display is not None:
            self.display.stop()
