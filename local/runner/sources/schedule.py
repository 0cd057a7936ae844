"""EventBridge schedules: a rule with `ScheduleExpression` invokes its Lambda targets on time.

As in AWS, the first tick comes one period after the rule exists and each tick is an asynchronous
invocation with a "Scheduled Event"; a failed invocation is logged and counted (AWS would retry it
twice and then hand it to the function's dead-letter queue; the next tick does a sweep's work
anyway). Only `rate(N unit)` is played (the template has no cron schedule); `period_s` replaces
every rule's period (tests run a one-minute schedule every second), and `tick(rule)` fires a rule
now, synchronously, returning what the function answered.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.runner.runner import InvocationError, Runner
from local.runner.sources.base import Poller

log = logging.getLogger("pitwall.local")
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
UNIT_S = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> float:
    match = RATE.fullmatch(expression.strip())
    if not match:
        raise ValueError(f"schedule {expression!r}: only rate(N minute|hour|day) is played locally")
    return float(int(match.group(1)) * UNIT_S[match.group(2)])


@dataclass
class ScheduledTarget:
    rule: str  # logical id of the AWS::Events::Rule
    function: str  # logical id of the target function
    rule_arn: str
    period_s: float
    next_at: float = 0.0


def scheduled_targets(cfn: dict[str, Any], rule_arn: Any) -> list[tuple[str, str, str, str]]:
    """(rule, function, schedule expression, rule ARN) for each Lambda target of a scheduled rule."""
    found = []
    for name, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in props:
            continue
        for target in props.get("Targets", []):
            arn = target.get("Arn")
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                found.append((name, arn["Fn::GetAtt"][0], props["ScheduleExpression"], rule_arn(name)))
    return found


def scheduled_event(target: ScheduledTarget, region: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region, "resources": [target.rule_arn], "detail": {}}


class ScheduleTicker(Poller):
    """Fires each scheduled rule's target every period (one thread for all rules)."""

    idle_s = 0.1

    def __init__(self, runner: Runner, targets: list[ScheduledTarget], region: str) -> None:
        super().__init__("schedule")
        self.runner, self.targets, self.region = runner, targets, region
        self.ticks = 0
        self.failed = 0
        self._fire_lock = threading.Lock()
        started = time.monotonic()
        for target in targets:
            target.next_at = started + target.period_s

    def poll_once(self) -> bool:
        now = time.monotonic()
        busy = False
        for target in self.targets:
            if now >= target.next_at:
                target.next_at = now + target.period_s
                busy = True
                try:
                    self._fire(target)
                except InvocationError as error:
                    log.warning("scheduled %s -> %s failed: %s", target.rule, target.function, error)
        return busy

    def tick(self, rule: str) -> Any:
        """Fire `rule` now; return the function's answer or raise its InvocationError."""
        for target in self.targets:
            if target.rule == rule:
                return self._fire(target)
        raise KeyError(f"no scheduled rule {rule!r}; known: {sorted(t.rule for t in self.targets)}")

    def _fire(self, target: ScheduledTarget) -> Any:
        with self._fire_lock:  # one sweep at a time, as the function's reserved concurrency of 1
            self.count("ticks", 1)
            try:
                return self.runner.invoke(target.function, scheduled_event(target, self.region))
            except InvocationError:
                self.count("failed", 1)
                raise
