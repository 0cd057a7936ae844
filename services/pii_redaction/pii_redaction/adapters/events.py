"""Publishing the batch's `PiiRedactionReport` and `ComprehendUsage` events on the Pitwall bus.

A failure to publish is logged (with the error type only) and swallowed: the records are already
redacted and Firehose must not redeliver the batch because the bus hiccuped.
"""

from __future__ import annotations

from typing import Any

from pitwall_shared.events import Event
from pitwall_shared.publisher import EventPublisher

SOURCE = "pitwall.pii_redaction"


def publish_batch_events(publisher: EventPublisher | None, report: dict[str, Any], usage: dict[str, Any],
                         *, invocation_id: str, logger: Any) -> bool:
    """Publish both events (deterministic ids from the invocation); True when both went out."""
    if publisher is None:
        return False
    try:
        publisher.publish_many([
            Event("PiiRedactionReport", report, event_id=f"{invocation_id}:report", correlation_id=invocation_id),
            Event("ComprehendUsage", usage, event_id=f"{invocation_id}:usage", correlation_id=invocation_id),
        ])
        return True
    except Exception as error:  # noqa: BLE001 - any failure to publish must leave the batch alone
        logger.warning("batch events not published", extra={"error_type": type(error).__name__})
        return False
