"""Builds pii_redaction's objects from its settings, once per process (the handler uses these).

The cached functions read the settings on first use (the handler calls them in Lambda's init phase,
so a bad deployment fails at cold start naming the variable); tests call `cache_clear()` on each, or
`reset()`, to get a fresh sandbox. The Comprehend gateway and the review sink are built per
invocation: the gateway's deadline is the invocation's own.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from pii_redaction.adapters.comprehend import ComprehendGateway, comprehend_client
from pii_redaction.adapters.events import SOURCE
from pii_redaction.adapters.review import ReviewTasks
from pii_redaction.logic.batch import ScreeningOptions
from pii_redaction.settings import RedactionSettings
from pitwall_shared.publisher import EventPublisher
from pitwall_shared.settings import load_settings


@functools.cache
def settings() -> RedactionSettings:
    return load_settings(RedactionSettings)


@functools.cache
def options() -> ScreeningOptions:
    """The settings screening needs."""
    s = settings()
    return ScreeningOptions(
        paths=s.pii_fields,
        entity_types=s.pii_entity_types,
        min_score=s.pii_min_score,
        mask_style=s.pii_mask_style,
        mask_character=s.pii_mask_character,
        language=s.pii_language,
        failure_policy=s.pii_failure_policy,
        newline=s.pii_newline,
        max_depth=s.pii_max_depth,
        contains_pack_chars=s.pii_contains_pack_chars,
        detect_pack_chars=s.pii_detect_pack_chars,
        review_band=s.pii_review_band,
    )


@functools.cache
def publisher() -> EventPublisher | None:
    """The bus publisher, or None when no EVENT_BUS_NAME is set (events are then not published)."""
    bus = settings().event_bus_name
    return EventPublisher(source=SOURCE, bus_name=bus) if bus else None


def gateway(context: Any) -> ComprehendGateway:
    """This invocation's Comprehend gateway: no call starts within PII_TIME_RESERVE_MS of its end."""
    s = settings()
    remaining_s = context.get_remaining_time_in_millis() / 1000 if context else 900.0
    deadline = time.monotonic() + remaining_s - s.pii_time_reserve_ms / 1000
    return ComprehendGateway(comprehend_client(s.pii_read_timeout_s), max_concurrency=s.pii_max_concurrency,
                             max_rps=s.requests_per_second, max_attempts=s.pii_max_attempts, deadline=deadline)


def reviews(invocation_id: str, logger: Any = None) -> ReviewTasks | None:
    """This invocation's review sink, or None when PII_REVIEW_BAND is empty (review off)."""
    s, bus = settings(), publisher()
    if s.pii_review_band is None or not s.pii_review_bucket or bus is None:
        return None
    from pitwall_shared.aws import client

    return ReviewTasks(client("s3"), s.pii_review_bucket, bus, correlation_id=invocation_id, logger=logger)


def reset() -> None:
    """Forget everything built (tests: after changing the environment)."""
    for cached in (settings, options, publisher):
        cached.cache_clear()
