"""The batch's settings and tallies: `ScreeningOptions` (the settings screening needs, free of the
environment), per-API usage, and the `BatchOutcome` that handlers answer and report from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pii_redaction.logic.fields import FieldPath
from pii_redaction.models import RecordOutcome

# "The maximum string size is 100 KB" (Comprehend API reference); its KB is 1,000 bytes.
COMPREHEND_MAX_BYTES = 100_000
# Firehose's maximum record size before base64 encoding is 1,000 KiB (Amazon Data Firehose quotas).
FIREHOSE_MAX_RECORD_BYTES = 1_000 * 1024
# Nesting deeper than this is refused (PII_MAX_DEPTH). The depth is measured on the text without
# recursion; the json module's parser and writer recurse once per level, so the limit also keeps
# them far below Python's recursion limit (1,000 frames).
DEFAULT_MAX_DEPTH = 128


@dataclass(frozen=True)
class ScreeningOptions:
    """The settings screening needs, free of the environment."""

    paths: tuple[FieldPath, ...]
    entity_types: frozenset[str] = frozenset({"ALL"})
    min_score: float = 0.0
    mask_style: str = "mask"
    mask_character: str = "*"
    language: str = "en"
    failure_policy: str = "mask-all"
    newline: bool = True
    contains_pack_chars: int = 600
    detect_pack_chars: int = 5_000
    max_request_bytes: int = COMPREHEND_MAX_BYTES
    segment_overlap_bytes: int = 2_000
    max_depth: int = DEFAULT_MAX_DEPTH
    # Entities scoring in [lower, upper) also go to human review (None: off).
    review_band: tuple[float, float] | None = None

    def wants(self, entity_type: str) -> bool:
        return "ALL" in self.entity_types or entity_type in self.entity_types


@dataclass
class ApiUsage:
    requests: int = 0
    characters: int = 0
    billed_units: int = 0
    failed_requests: int = 0
    latencies_ms: list[float] = field(default_factory=list)


@dataclass
class BatchOutcome:
    records: list[RecordOutcome]
    usage: dict[str, ApiUsage]
    fields_inspected: int = 0
    review_candidates: int = 0

    def results(self) -> Counter[str]:
        return Counter(r.result for r in self.records)

    def entities(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for record in self.records:
            total.update(record.entities)
        return total

    def failure_reasons(self) -> Counter[str]:
        return Counter(r.reason_kind for r in self.records if r.reason_kind)
