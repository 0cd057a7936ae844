"""The F1 call end to end without AWS: in-memory store and ledger, recording publisher, the
shipped ONNX model. Predictions once per battle and lap, retries and duplicates publish nothing
twice, concurrent calls lose no update, a failed publish is sent by the next call."""

from __future__ import annotations

import threading
import time

import pytest

from race_predictor.logic.f1.predictor import TreePitBattlePredictor, confidence
from race_predictor.logic.f1.service import F1Service, state_key
from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore, VersionConflict
from race_predictor.models.f1 import parse_batch
from tests.contracts import assert_valid_event
from tests.unit.race_predictor_f1.f1_builders import RaceScript, undercut_race


class RecordingPublisher:
    def __init__(self, fail_times: int = 0) -> None:
        self.details: list[dict] = []  # PitBattlePredicted
        self.resolved: list[dict] = []  # PitBattleResolved
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def publish_many(self, events):
        from pitwall_shared.events import envelope

        with self._lock:
            if self.fail_times:
                self.fail_times -= 1
                raise RuntimeError("bus unavailable")
            details = [envelope(e) for e in events]
            for event, detail in zip(events, details, strict=True):
                (self.resolved if event.detail_type == "PitBattleResolved" else self.details).append(detail)
            return details


PREDICTOR = TreePitBattlePredictor.load()


def make_service(store=None, publisher=None, ledger=None) -> F1Service:
    return F1Service(store=store or InMemoryStateStore(), ledger=ledger or InMemoryLedger(),
                     publisher=publisher or RecordingPublisher(), predictor=PREDICTOR)


def lap_batches(race: RaceScript) -> list[dict]:
    """One POST per lap: the lap's lap_completed messages plus the pit messages after them."""
    batches, current = [], []
    for message in race.messages:
        if message["type"] == "lap_completed" and current and current[-1]["type"] != "lap_completed":
            batches.append({"messages": current})
            current = []
        current.append(message)
    batches.append({"messages": current})
    return batches


def test_predictions_once_per_battle_and_lap_with_valid_events():
    service, publisher = make_service(), RecordingPublisher()
    service.publisher = publisher
    produced = []
    for body in lap_batches(undercut_race()):
        produced += service.post_messages("r1", parse_batch(body)).predictions
    laps = [(d["data"]["battle_id"], d["data"]["lap"]) for d in publisher.details]
    assert laps == [("L5-AAA-BBB", 5), ("L5-AAA-BBB", 6), ("L5-AAA-BBB", 7)]
    assert [d["event_id"] for d in produced] == [d["event_id"] for d in publisher.details]
    for detail in publisher.details:
        assert_valid_event("PitBattlePredicted", detail)
        data = detail["data"]
        assert data["kind"] == "undercut" and data["model_version"] == PREDICTOR.version
        assert 0.0 <= data["swap_probability"] <= 1.0
        assert data["confidence"] == confidence(data["swap_probability"])
    battles = service.battles_view("r1")
    (resolved,) = battles["resolved"]
    assert resolved["swapped"] is True and resolved["gap_s"] == 6.5
    assert resolved["latest_prediction"]["lap"] == 7
    (outcome,) = publisher.resolved
    assert_valid_event("PitBattleResolved", outcome)
    assert outcome["data"]["swapped"] is True and outcome["data"]["gap_s"] == 6.5
    assert outcome["data"]["last_swap_probability"] == publisher.details[-1]["data"]["swap_probability"]


def test_retried_and_duplicated_requests_publish_nothing_twice():
    publisher = RecordingPublisher()
    service = make_service(publisher=publisher)
    batches = lap_batches(undercut_race())
    for body in batches:
        service.post_messages("r1", parse_batch(body))
    count = len(publisher.details)
    for body in batches:  # the whole feed again
        result = service.post_messages("r1", parse_batch(body))
        assert result.accepted == 0 and result.predictions == []
        assert result.duplicates == [m["seq"] for m in body["messages"]]
    assert len(publisher.details) == count == 3


def test_whole_race_in_one_call_equals_lap_by_lap():
    one, many = RecordingPublisher(), RecordingPublisher()
    make_service(publisher=one).post_messages("r1", parse_batch(undercut_race().batch()))
    service = make_service(publisher=many)
    for body in lap_batches(undercut_race()):
        service.post_messages("r1", parse_batch(body))
    strip = [(d["event_id"], d["data"]) for d in one.details]
    assert strip == [(d["event_id"], d["data"]) for d in many.details]


def test_failed_publish_stays_in_the_outbox_and_goes_out_once_later():
    publisher = RecordingPublisher(fail_times=1)
    store = InMemoryStateStore()
    service = make_service(store=store, publisher=publisher)
    errors = []
    service.on_publish_error = errors.append
    race = undercut_race()
    result = service.post_messages("r1", parse_batch(race.batch()))
    assert errors and publisher.details == [] and len(result.predictions) == 3
    # three predictions and the battle's outcome wait in the outbox
    assert len(store.load(state_key("r1")).body["outbox"]) == 4
    # the claims are fresh: an immediate retry must not publish (another call may be sending them)
    service.post_messages("r1", parse_batch(race.batch()))
    assert publisher.details == []
    service.clock = lambda: time.time() + 60  # later: the claims are stale, the feed's retry sends them
    service.post_messages("r1", parse_batch(race.batch()))
    service.post_messages("r1", parse_batch(race.batch()))
    assert sorted(d["data"]["lap"] for d in publisher.details) == [5, 6, 7]
    assert store.load(state_key("r1")).body["outbox"] == []


class SlowStore(InMemoryStateStore):
    """Holds every read for a moment so concurrent calls interleave and conflict."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 0

    def load(self, key):
        stored = super().load(key)
        time.sleep(0.005)
        return stored

    def save(self, key, body, expected_version, expires_at):
        try:
            return super().save(key, body, expected_version, expires_at)
        except VersionConflict:
            self.conflicts += 1
            raise


def test_concurrent_calls_on_one_race_lose_no_update_and_publish_once():
    store, publisher = SlowStore(), RecordingPublisher()
    service = make_service(store=store, publisher=publisher)
    race = undercut_race()
    messages = race.messages
    service.post_messages("r1", parse_batch({"messages": messages[:1]}))
    chunks = [messages[1 + i::6] for i in range(6)]  # six interleaved slices of the race
    threads = [threading.Thread(target=service.post_messages, args=("r1", parse_batch({"messages": chunk})))
               for chunk in chunks for _ in range(2)]  # each slice sent twice, concurrently
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.conflicts > 0  # the test did exercise the optimistic lock
    state = service.load_state("r1")
    assert state is not None and state.applied_seqs == {m["seq"] for m in messages}
    keys = [(d["data"]["battle_id"], d["data"]["lap"]) for d in publisher.details]
    # Each (battle, lap) goes out once. Slices arriving out of order can show the battle still open
    # after lap 7 (lap 8 seen before the other car's stop), so lap 8 may be predicted too.
    assert len(keys) == len(set(keys))
    assert {("L5-AAA-BBB", lap) for lap in (5, 6, 7)} <= set(keys) <= {("L5-AAA-BBB", lap) for lap in (5, 6, 7, 8)}


def test_views_show_order_gaps_tyres_stops_and_status():
    service = make_service()
    race = undercut_race()
    race.add({"type": "track_status", "lap": 8, "status": "yellow"})
    race.end()
    service.post_messages("r1", parse_batch(race.batch()))
    view = service.race_view("r1")
    assert view["status"] == "finished" and view["lap"] == 8 and view["track_status"] == "yellow"
    assert [d["driver"] for d in view["order"]] == ["CCC", "BBB", "AAA"]
    assert [d["gap_to_leader_s"] for d in view["order"]] == [0.0, 3.5, 10.0]
    aaa = view["order"][2]
    assert aaa["stops"] == [{"lap": 7, "compound": "HARD", "pit_duration_ms": 22000}]
    assert aaa["interval_s"] == 6.5 and aaa["compound"] == "MEDIUM"
    assert service.race_view("nope") is None and service.battles_view("nope") is None


@pytest.mark.parametrize("race_id", ["r1", "other"])
def test_races_are_independent(race_id):
    service = make_service()
    service.post_messages("r1", parse_batch(undercut_race().batch()))
    view = service.battles_view(race_id)
    assert (view is None) == (race_id == "other")
