"""`make run` demo of the cost calculator: the published estimate examples over the local API
Gateway (computed by the deployed function), then a usage event that goes EventBridge → rule → SQS
→ consumer → DynamoDB and shows up in the recommendation route.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pitwall_shared.publisher import EventPublisher

DEMO_ENDPOINT = "demo-race-radio"
POLL_SECONDS = 60.0

# AWS's published examples (Amazon Comprehend pricing page) and the figures they must give.
ENDPOINT_EXAMPLES = [
    ({"characters_per_message": 360, "messages_per_minute": 10, "hours_per_day": 12},
     {"characters_per_second": "60", "inference_units": 1, "inference_cost": "21.60", "total_cost": "25.10"}),
    ({"characters_per_message": 600, "messages_per_minute": 50, "hours_per_day": 12},
     {"characters_per_second": "500", "inference_units": 5, "inference_cost": "108.00", "total_cost": "111.50"}),
]
PII_EXAMPLE = (
    {"records": 10_000, "characters_per_field": 500, "fields_per_record": 1, "records_with_pii": 50},
    {"contains_units": 50_000, "contains_cost": "0.1", "detect_units": 250, "detect_cost": "0.025", "total_cost": "0.125"},
)


def _http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - scheme checked above
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _same(answer: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Amounts are compared as decimals ("21.6" is the published 21.60), counts exactly."""
    for key, value in expected.items():
        got = answer.get(key)
        if isinstance(value, str):
            if got is None or Decimal(str(got)) != Decimal(value):
                return False
        elif got != value:
            return False
    return True


def _estimate(cloud: Any, path: str, body: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    status, answer = _http("POST", cloud.api_url + path, body)
    if status != 200 or not _same(answer, expected):
        raise RuntimeError(f"POST {path} gave {status} {answer}, expected {expected}")
    return answer


def run_demo(cloud: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for body, expected in ENDPOINT_EXAMPLES:
        answer = _estimate(cloud, "/estimates/endpoint", body, expected)
        label = f"endpoint {body['messages_per_minute']} msg/min x {body['characters_per_message']} chars, 12 h"
        summary[label] = (f"{answer['characters_per_second']} chars/s, {answer['inference_units']} IU, "
                          f"inference {answer['inference_cost']}, total {answer['total_cost']}")
    body, expected = PII_EXAMPLE
    answer = _estimate(cloud, "/estimates/pii", body, expected)
    summary["pii 10,000 records x 500 chars, 50 with PII"] = (
        f"{answer['contains_units']} units {answer['contains_cost']}, {answer['detect_units']} units "
        f"{answer['detect_cost']}, total {answer['total_cost']}")

    # 30,000 characters in one minute is 500 characters per second: 5 IUs against 8 configured.
    publisher = EventPublisher(source="pitwall.demo", bus_name=cloud.physical_id("PitwallBus"),
                               events_client=cloud.client("events"))
    observed_at = datetime.now(UTC).isoformat()
    publisher.publish("EndpointTraffic", {
        "endpoint_name": DEMO_ENDPOINT, "observed_at": observed_at, "characters": 30_000, "requests": 50,
        "configured_inference_units": 8,
    }, event_id=f"demo-traffic-{uuid.uuid4()}")
    started = time.monotonic()
    url = f"{cloud.api_url}/endpoints/{DEMO_ENDPOINT}/recommendation?window_minutes=60"
    while True:
        status, recommendation = _http("GET", url)
        if status == 200 and recommendation.get("configured_inference_units") == 8 \
                and recommendation.get("observed_minutes", 0) >= 1:
            break
        if time.monotonic() - started > POLL_SECONDS:
            raise TimeoutError(f"usage event not reflected after {POLL_SECONDS:.0f}s: {status} {recommendation}")
        time.sleep(0.25)
    summary["usage event -> recommendation"] = (
        f"{DEMO_ENDPOINT}: peak {recommendation['peak_characters_per_second']} chars/s, "
        f"{recommendation['recommended_inference_units']} IU recommended vs {recommendation['configured_inference_units']} "
        f"configured ({recommendation['status']}), saves {recommendation['projected_daily_saving']}/day; "
        f"seen after {time.monotonic() - started:.1f}s")
    return summary
