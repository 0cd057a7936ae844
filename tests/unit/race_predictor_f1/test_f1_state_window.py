"""Issue 17: the service keeps a bounded window of the race. A long race's state item stays the
size of its first laps', each POST writes the state once, and the window changes nothing an
in-order feed sees: the same predictions, outcomes and views as a state that keeps every fact."""

from __future__ import annotations

from functools import cache

from ml.f1.simulator import simulate_race
from race_predictor.adapters.dynamodb import encode_body
from race_predictor.logic.f1.service import F1Service, state_key
from race_predictor.logic.f1.state import RaceState, apply_messages, prune
from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore
from race_predictor.models.f1 import parse_batch, parse_message
from tests.unit.race_predictor_f1.test_f1_service import PREDICTOR, RecordingPublisher

LAPS = 70


def lap_bodies(messages: list[dict]) -> list[dict]:
    """One body per lap (race_start with lap 1, race_end with the last), as a live feed posts."""
    by_lap: dict[int, list[dict]] = {}
    for message in messages:
        by_lap.setdefault(int(message.get("lap", 0)), []).append(message)
    laps = sorted(lap for lap in by_lap if lap > 0)
    bodies = [{"messages": list(by_lap[lap])} for lap in laps]
    bodies[0]["messages"][:0] = [m for m in by_lap.get(0, []) if m["type"] == "race_start"]
    bodies[-1]["messages"] += [m for m in by_lap.get(0, []) if m["type"] == "race_end"]
    return bodies


@cache
def replay(window: int | None) -> tuple[F1Service, RecordingPublisher, InMemoryStateStore, list[int]]:
    store, publisher = InMemoryStateStore(), RecordingPublisher()
    service = F1Service(store=store, ledger=InMemoryLedger(), publisher=publisher, predictor=PREDICTOR,
                        window_laps=window)
    sizes = []
    for body in lap_bodies(simulate_race(seed=3, laps=LAPS)):
        service.post_messages("long", parse_batch(body))
        sizes.append(len(encode_body(store.load(state_key("long")).body)))  # as DynamoDB stores it
    return service, publisher, store, sizes


def test_state_item_of_a_long_race_stays_the_size_of_its_first_laps():
    _, publisher, _, sizes = replay(5)
    assert publisher.details, "the race must have battles for the test to mean something"
    assert max(sizes) <= 16 * 1024
    assert max(sizes[50:]) <= 1.5 * max(sizes[:20])
    assert sizes[-1] - sizes[50] < 100  # flat once the stops are done...
    _, _, _, unbounded = replay(None)
    assert unbounded[-1] - unbounded[50] > 1000  # ...where the same race keeping every fact grows


def test_one_state_write_per_post():
    _, publisher, store, sizes = replay(5)
    assert store.writes == len(sizes)  # no second write to clear the outbox


def test_the_window_changes_no_prediction_outcome_or_view_of_an_in_order_feed():
    windowed, windowed_events, _, _ = replay(5)
    full, full_events, _, _ = replay(None)
    assert [(d["event_id"], d["data"]) for d in windowed_events.details] == \
        [(d["event_id"], d["data"]) for d in full_events.details]
    assert [(d["event_id"], d["data"]) for d in windowed_events.resolved] == \
        [(d["event_id"], d["data"]) for d in full_events.resolved]
    assert windowed.battles_view("long") == full.battles_view("long")
    assert windowed.race_view("long") == full.race_view("long")


def test_a_lap_behind_the_window_counts_as_applied_and_changes_nothing():
    lap = {"type": "lap_completed", "driver": "AAA", "position": 1, "lap_time_ms": 90000}
    state = RaceState("r1", window=3)
    apply_messages(state, [parse_message({**lap, "seq": n, "lap": n, "race_time_ms": 90000 * n}) for n in range(1, 11)])
    before = state.to_json()
    late = parse_message({**lap, "seq": 99, "lap": 2, "race_time_ms": 1})
    accepted, duplicates = apply_messages(state, [late])
    assert accepted == [99] and duplicates == []
    assert state.lap("AAA", 2) == RaceState.from_json(before).lap("AAA", 2)
    assert apply_messages(state, [late]) == ([], [99])


def test_the_status_in_force_survives_the_window():
    """A safety car called on lap 2 and still out at lap 20: the window drops lap 2's statuses but
    keeps the one in force, so the status at a crossing is the same as with every fact kept."""
    lap = {"type": "lap_completed", "driver": "AAA", "position": 1, "lap_time_ms": 90000}
    messages = [parse_message({"seq": 1, "type": "track_status", "lap": 1, "status": "yellow"}),
                parse_message({"seq": 3, "type": "track_status", "lap": 2, "status": "safety_car"})]
    messages += [parse_message({**lap, "seq": 2 * n + 10, "lap": n, "race_time_ms": 90000 * n}) for n in range(1, 21)]
    windowed, full = RaceState("r1", window=3), RaceState("r1")
    for state in (windowed, full):
        apply_messages(state, messages)
        prune(state)
    assert 2 not in windowed.track or len(windowed.track[2]) == 1
    assert 1 not in windowed.track  # the yellow before it is gone for good
    assert windowed.status_at(2 * 20 + 10) == full.status_at(2 * 20 + 10) == "safety_car"
