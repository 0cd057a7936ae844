"""Amazon Comprehend emulator for `ContainsPiiEntities` and `DetectPiiEntities` (JSON 1.1 protocol).

Real offline detection (`local.emulators.pii_detect`), the real request limits and error codes, and
switchable faults for tests and benchmarks: added latency, a requests-per-second quota answered with
`ThrottlingException`, a random error rate, and slow calls that outlast a client's read timeout; and
`isolate_paragraphs=False`, a mode in which a request is read as one paragraph (blank lines joined), so
context and entities may cross the blank line a packed request puts between values — what Comprehend
may do, since nothing in its documentation says it reads paragraphs apart (issue 12 item 6).
Faults can be changed at run time with `POST /_emulator/config`; `GET /_emulator/stats` returns call
counts and characters per API (no text). Other Comprehend actions answer `UnknownOperationException`.

Example::

    app = make_app(latency_ms=25, rps_quota=50)
    # serve it, then: boto3.client("comprehend", endpoint_url=...).detect_pii_entities(...)
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from werkzeug.wrappers import Request, Response

from local.emulators.pii_detect import PiiDetector

TARGET_PREFIX = "Comprehend_20171127."
# "A UTF-8 text string. The maximum string size is 100 KB." (DetectPiiEntities / ContainsPiiEntities
# API reference); Comprehend's KB is 1,000 bytes (its 5 KB limits are documented as 5,000 bytes).
MAX_TEXT_BYTES = 100_000
# DetectPiiEntities API reference, LanguageCode. The detector itself is English-only.
SUPPORTED_LANGUAGES = frozenset({"en", "es"})


@dataclass
class Faults:
    """What the emulator does besides answering: all off by default."""

    latency_ms: float = 0.0
    rps_quota: float | None = None
    error_rate: float = 0.0
    error_code: str = "InternalServerException"
    slow_rate: float = 0.0
    slow_ms: float = 0.0
    seed: int | None = None
    # False: blank lines do not separate the detector's paragraphs (the whole request is one).
    isolate_paragraphs: bool = True


# A run of blank lines (what separates the detector's paragraphs).
_BLANK_LINES = re.compile(r"\n(?:[ \t\r\f\v]*\n)+")


def joined_paragraphs(text: str) -> str:
    r"""`text` with every run of blank lines turned into one newline and spaces (same length, so the
    entities' offsets still point into the request's text).

    >>> joined_paragraphs("a\n\n\nb\n \nc")
    'a\n  b\n  c'
    """
    return _BLANK_LINES.sub(lambda m: "\n" + " " * (len(m.group()) - 1), text)


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    characters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    slow: int = 0  # calls held `slow_ms` by the slow fault (longer than a client's read timeout: it timed out)
    # Time spent detecting (serialised: one detection at a time), a floor under any client's wall time.
    detect_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"calls": dict(self.calls), "characters": dict(self.characters), "errors": dict(self.errors),
                "slow": self.slow, "detect_seconds": round(self.detect_seconds, 3)}


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class ComprehendEmulator:
    """The WSGI application; `make_app` builds one."""

    def __init__(self, faults: Faults, detector: PiiDetector | None = None) -> None:
        self.faults = faults
        self.detector = detector or PiiDetector()
        self.stats = Stats()
        self._detect_lock = threading.Lock()
        self._quota_lock = threading.Lock()
        self._recent: deque[float] = deque()
        self._random = random.Random(faults.seed)

    # -- faults -------------------------------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        names = {f.name for f in fields(Faults)}
        unknown = set(changes) - names
        if unknown:
            raise ServiceError("InvalidRequestException", f"unknown fault setting(s): {sorted(unknown)}")
        for name, value in changes.items():
            setattr(self.faults, name, value)
        if "seed" in changes:
            self._random = random.Random(self.faults.seed)

    def _admit(self) -> None:
        quota = self.faults.rps_quota
        if not quota:
            return
        with self._quota_lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= quota:
                raise ServiceError("ThrottlingException", "Rate exceeded")
            self._recent.append(now)

    def _inject(self) -> None:
        with self._quota_lock:
            draw_error, draw_slow = self._random.random(), self._random.random()
        if draw_slow < self.faults.slow_rate:
            with self._quota_lock:
                self.stats.slow += 1
            time.sleep(self.faults.slow_ms / 1000)
        if draw_error < self.faults.error_rate:
            code = self.faults.error_code
            status = 500 if code == "InternalServerException" else 400
            raise ServiceError(code, "Injected fault", status)

    # -- API ----------------------------------------------------------------------------------
    def _text(self, body: dict[str, Any]) -> str:
        text, language = body.get("Text"), body.get("LanguageCode")
        if not isinstance(text, str) or not text:
            raise ServiceError("ValidationException", "1 validation error detected: Value at 'text' failed to "
                               "satisfy constraint: Member must have length greater than or equal to 1")
        if language not in SUPPORTED_LANGUAGES:
            raise ServiceError("UnsupportedLanguageException" if isinstance(language, str) else
                               "ValidationException", f"Unsupported language code: {language!r}")
        size = len(text.encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            raise ServiceError("TextSizeLimitExceededException",
                               f"Input text size exceeds limit. Max length of request text allowed is "
                               f"{MAX_TEXT_BYTES} bytes while in this request the text size is {size} bytes")
        return text

    def _analysed(self, text: str) -> str:
        return text if self.faults.isolate_paragraphs else joined_paragraphs(text)

    def detect_pii_entities(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._analysed(self._text(body))
        with self._detect_lock:
            started = time.perf_counter()
            entities = self.detector.detect(text)
            self.stats.detect_seconds += time.perf_counter() - started
        return {"Entities": [{"Score": e.score, "Type": e.type, "BeginOffset": e.begin, "EndOffset": e.end}
                             for e in entities]}

    def contains_pii_entities(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self._analysed(self._text(body))
        with self._detect_lock:
            started = time.perf_counter()
            labels = self.detector.labels(text)
            self.stats.detect_seconds += time.perf_counter() - started
        return {"Labels": [{"Name": name, "Score": score} for name, score in sorted(labels.items())]}

    # -- WSGI ---------------------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        if request.path == "/_emulator/stats":
            return _json(200, {**self.stats.as_dict(), "faults": asdict(self.faults)})
        if request.path == "/_emulator/config" and request.method == "POST":
            self.configure(**(request.get_json(force=True) or {}))
            return _json(200, asdict(self.faults))
        if request.path == "/_emulator/reset" and request.method == "POST":
            self.stats = Stats()
            self.detector.clear_cache()
            return _json(200, {})
        return _json(404, {"message": "not found"})

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            if request.path.startswith("/_emulator/"):
                response = self._control(request)
            else:
                response = self._api(request)
        except ServiceError as error:
            self.stats.errors[error.code] += 1
            response = _json(error.status, {"__type": error.code, "message": error.message},
                             {"x-amzn-ErrorType": error.code})
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        target = request.headers.get("X-Amz-Target", "")
        action = target.removeprefix(TARGET_PREFIX)
        handler = {"DetectPiiEntities": self.detect_pii_entities,
                   "ContainsPiiEntities": self.contains_pii_entities}.get(action)
        if request.method != "POST" or not target.startswith(TARGET_PREFIX) or handler is None:
            raise ServiceError("UnknownOperationException", f"Operation {action or '?'} is not emulated")
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            raise ServiceError("SerializationException", "Request body is not JSON") from None
        if not isinstance(body, dict):
            raise ServiceError("SerializationException", "Request body is not a JSON object")
        self._admit()
        started = time.monotonic()
        self._inject()
        result = handler(body)
        self.stats.calls[action] += 1
        self.stats.characters[action] += len(body["Text"])
        # The configured latency is the call's service time: detection work counts toward it.
        remaining = self.faults.latency_ms / 1000 - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        return _json(200, result)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/x-amz-json-1.1",
                    headers={"x-amzn-RequestId": f"{time.time_ns():x}", **(headers or {})})


def make_app(*, latency_ms: float = 0.0, rps_quota: float | None = None, error_rate: float = 0.0,
             error_code: str = "InternalServerException", slow_rate: float = 0.0, slow_ms: float = 0.0,
             seed: int | None = None, use_model: bool = True, isolate_paragraphs: bool = True) -> ComprehendEmulator:
    """Build the Comprehend emulator WSGI app with the given faults."""
    faults = Faults(latency_ms, rps_quota, error_rate, error_code, slow_rate, slow_ms, seed, isolate_paragraphs)
    detector = PiiDetector(use_model=use_model)
    # Loaded while the local cloud starts (the emulator is ready only then), so no caller's first
    # request waits seconds for the model and runs into its read timeout.
    detector.load()
    return ComprehendEmulator(faults, detector)
