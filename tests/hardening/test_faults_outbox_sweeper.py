"""Events never stranded, in the local cloud (issue 16 item 4): EventBridge refuses every
race_predictor event while a race's last POSTs come in; no POST follows; the scheduled outbox
sweeper (OutboxSweeperFunction, run by the local schedule) fails while the outage lasts and, once
PutEvents works again, publishes each prediction exactly once (counted by id on a bus tap).

The 60-second outage on a simulated clock is tests/service/test_race_predictor_outbox_sweeper.py;
here the clock is real, so the outage lasts just past the 30 s an entry belongs to its creator.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from local.runner.runner import InvocationError
from race_predictor.logic.ports import STALE_CLAIM_S
from tests.hardening.faults import BusTap, FaultPlan, put_events_partial_failures
from tests.hardening.test_faults_backends import UNDERCUT_RACE, post, wait_for

RULE = "OutboxSweepRule"


def test_predictions_whose_publish_failed_are_published_once_by_the_scheduled_sweeper(cloud):
    schedule = cloud.schedule
    assert schedule is not None
    scheduled = {(t.rule, t.function, t.period_s) for t in schedule.targets}
    assert (RULE, "OutboxSweeperFunction", 60.0) in scheduled, scheduled
    race_id = f"hardening-stranded-{time.time_ns()}"
    tap = BusTap(cloud, "hardening-outbox-sweeper")
    outage = FaultPlan(rate=1.0)
    answered: list[dict] = []
    messages = UNDERCUT_RACE["messages"]
    with put_events_partial_failures(outage, sources=lambda source: source == "pitwall.race_predictor"):
        for start in range(0, len(messages), 3):
            status, body = post(f"{cloud.api_url}/races/{race_id}/messages", {"messages": messages[start:start + 3]})
            assert status == 200, body  # the feed is answered; its events wait in the outbox
            answered += body["predictions"]
        last_post = time.monotonic()
        assert answered and outage.injected > 0
        # Still refused once the entries are the sweeper's to take: the sweep fails (its Errors alarm).
        time.sleep(max(0.0, last_post + STALE_CLAIM_S + 1 - time.monotonic()))
        with pytest.raises(InvocationError, match="OutboxStuck"):
            schedule.tick(RULE)
        injected_during_sweep = outage.injected
        assert injected_during_sweep > len(answered)
        assert [d for d in tap.of_type("PitBattlePredicted") if d["data"]["race_id"] == race_id] == []
    # PutEvents works again. The failed sweep released the claims EventBridge refused, so the
    # next tick takes them at once (no second STALE_CLAIM_S wait).
    summary = schedule.tick(RULE)
    assert summary["published"] >= len(answered) and summary["failed"] == 0, summary

    def every_prediction():
        mine = [d for d in tap.of_type("PitBattlePredicted") if d["data"]["race_id"] == race_id]
        return mine if len(mine) >= len(answered) else None

    wait_for(every_prediction, timeout_s=30, what="every answered prediction on the bus")
    assert schedule.tick(RULE)["published"] == 0  # nothing left, nothing twice
    cloud.wait_until_drained()
    published = Counter(d["event_id"] for d in tap.of_type("PitBattlePredicted") if d["data"]["race_id"] == race_id)
    assert published == Counter({p["event_id"]: 1 for p in answered})
    tap.close()
