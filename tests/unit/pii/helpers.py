"""Test doubles for pii_redaction: a `PiiService` answered in process by the emulator's detector
(the same engine the local cloud serves, without HTTP), with switchable failures, and golden data."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.emulators.pii_detect import PiiDetector
from pii_redaction.logic.planning import Span
from pii_redaction.logic.ports import Call, CallResult
from pii_redaction.models import InputRecord

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = json.loads((ROOT / "events" / "pii_redaction" / "golden_record.json").read_text())

_DETECTOR = PiiDetector()


@dataclass
class InProcessComprehend:
    """Answers calls with the emulator's detector; `fail(call)` returning an error code fails a call."""

    detector: PiiDetector = field(default_factory=lambda: _DETECTOR)
    fail: Callable[[Call], str | None] = lambda call: None
    calls: list[Call] = field(default_factory=list)

    def run(self, calls: Sequence[Call]) -> list[CallResult]:
        results = []
        for call in calls:
            self.calls.append(call)
            error = self.fail(call)
            if error:
                results.append(CallResult(error=error))
            elif call.api == "ContainsPiiEntities":
                results.append(CallResult(labels=self.detector.labels(call.text)))
            else:
                results.append(CallResult(spans=tuple(Span(e.type, e.begin, e.end, e.score)
                                                      for e in self.detector.detect(call.text))))
        return results


def encode(document: Any) -> str:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return base64.b64encode(raw).decode()


def decode(data: str) -> Any:
    return json.loads(base64.b64decode(data))


def records(*documents: Any) -> list[InputRecord]:
    return [InputRecord(f"r{i}", encode(d)) for i, d in enumerate(documents)]
