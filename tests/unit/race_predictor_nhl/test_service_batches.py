"""The stream use case with in-memory ports: one publish per combination, across restarts and retries."""

from __future__ import annotations

import base64
import contextlib
import json

from ml.nhl.simulator import simulate_game
from race_predictor.handlers import process_tracking_event
from race_predictor.logic.nhl.predictor import FaceoffModel
from race_predictor.logic.nhl.service import NhlService
from race_predictor.logic.nhl.stats import InMemoryPlayerStats
from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore
from tests.contracts import assert_valid_event


class RecordingPublisher:
    def __init__(self) -> None:
        self.details: list[dict] = []  # FaceoffPredicted
        self.resolved: list[dict] = []  # FaceoffResolved
        self.calls = 0

    def publish_many(self, events):
        from pitwall_shared.events import envelope

        self.calls += 1
        out = [envelope(event) for event in events]
        for event, detail in zip(events, out, strict=True):
            (self.resolved if event.detail_type == "FaceoffResolved" else self.details).append(detail)
        return out


def kinesis_event(records: list[dict | bytes], first_sequence: int = 1000) -> dict:
    out = []
    for offset, record in enumerate(records):
        data = record if isinstance(record, bytes) else json.dumps(record).encode()
        out.append({"eventSource": "aws:kinesis", "eventID": f"shardId-000:{first_sequence + offset}",
                    "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "g",
                                "sequenceNumber": str(first_sequence + offset),
                                "data": base64.b64encode(data).decode(), "approximateArrivalTimestamp": 1.0}})
    return {"Records": out}


def make_service(store, ledger, publisher, stats, model=None) -> NhlService:
    return NhlService(store=store, ledger=ledger, publisher=publisher, stats=stats, model=model or FaceoffModel())


def test_a_simulated_game_publishes_each_setup_once_across_restarts_and_redelivery():
    game = simulate_game("g-restart", seed=5, faceoffs_per_period=4, periods=1, waive_out_rate=0.5)
    store, ledger, stats, publisher = InMemoryStateStore(), InMemoryLedger(), InMemoryPlayerStats(), RecordingPublisher()
    expected = sum(len(f.setups) for f in game.faceoffs)
    chunks = [game.records[i:i + 250] for i in range(0, len(game.records), 250)]
    sequence = 1
    service = make_service(store, ledger, publisher, stats)
    for index, chunk in enumerate(chunks):
        event = kinesis_event(chunk, sequence)
        if index % 7 == 3:
            service = make_service(store, ledger, publisher, stats)  # a cold start mid-game
        response, _ = process_tracking_event(event, service)
        assert response == {"batchItemFailures": []}
        if index % 5 == 2:
            process_tracking_event(event, service)  # the same batch delivered again
        sequence += len(chunk)
    assert len(publisher.details) == expected
    assert len({d["event_id"] for d in publisher.details}) == expected
    for detail in publisher.details:
        assert_valid_event("FaceoffPredicted", detail)
    # Every result counted once in the stats despite the re-deliveries.
    totals = sum(item.record.career_total for item in stats.items.values())
    assert totals == 2 * len(game.faceoffs)


def test_state_saved_but_publish_lost_is_sent_by_the_next_batch_once():
    game = simulate_game("g-outbox", seed=6, faceoffs_per_period=2, periods=1, waive_out_rate=0.0)
    store, ledger, stats = InMemoryStateStore(), InMemoryLedger(), InMemoryPlayerStats()

    class FailingPublisher(RecordingPublisher):
        def publish_many(self, events):
            raise RuntimeError("bus unavailable")

    half = len(game.records) // 2
    service = make_service(store, ledger, FailingPublisher(), stats)
    with contextlib.suppress(RuntimeError):
        process_tracking_event(kinesis_event(game.records[:half], 1), service)
    # The claims of the failed call go stale; the next call (a new process) publishes them.
    publisher = RecordingPublisher()
    later = make_service(store, ledger, publisher, stats, None)
    later.now = lambda: 10**10
    process_tracking_event(kinesis_event(game.records[half:], 1 + half), later)
    process_tracking_event(kinesis_event(game.records[half:], 1 + half), later)
    ids = [d["event_id"] for d in publisher.details]
    assert len(ids) == len(set(ids)) == sum(len(f.setups) for f in game.faceoffs)


def test_malformed_record_fails_alone_and_the_rest_is_applied():
    good = simulate_game("g-bad", seed=7, faceoffs_per_period=1, periods=1).records[:400]
    records = good[:200] + [b"{broken", {"type": "position", "game_id": "g-bad", "ts_ms": -1}] + good[200:]
    service = make_service(InMemoryStateStore(), InMemoryLedger(), RecordingPublisher(), InMemoryPlayerStats())
    response, report = process_tracking_event(kinesis_event(records, 1), service)
    assert response == {"batchItemFailures": [{"itemIdentifier": "201"}, {"itemIdentifier": "202"}]}
    assert service.current_prediction("g-bad")["faceoff_seq"] >= 1
    # Lambda re-delivers from the first failure: the good records after it are not applied twice.
    retry, report = process_tracking_event(kinesis_event(records[200:], 201), service)
    assert len(retry["batchItemFailures"]) == 2 and report.duplicates == len(good) - 200


def test_new_setups_of_one_batch_are_scored_in_one_model_call():
    model = FaceoffModel()
    games = [simulate_game(f"g{k}", seed=20 + k, faceoffs_per_period=1, periods=1, waive_out_rate=0.0)
             for k in range(3)]
    # Interleave three games in one batch: three set-ups, one model call.
    records = [r for g in games for r in g.records]
    service = make_service(InMemoryStateStore(), InMemoryLedger(), RecordingPublisher(), InMemoryPlayerStats(), model)
    calls_before = model.model_calls
    _, report = process_tracking_event(kinesis_event(records, 1), service)
    assert report.setups == 3 and model.model_calls - calls_before <= 1


def test_takers_switching_back_publish_the_first_pair_again_and_the_view_shows_it():
    """Issue 18.6: A -> B -> A in one stoppage publishes A's prediction again; GET shows the current pair."""
    lineup = {"type": "lineup", "game_id": "g-ab", "season": 20232024, "home_team": "BOS", "away_team": "MTL",
              "players": [{"player_id": p, "side": s, "position": "C", "shoots": "L"}
                          for p, s in ((11, "home"), (12, "home"), (21, "away"))]}

    def still(ts0: int, placements: dict[int, tuple[float, float]]) -> list[dict]:
        return [{"type": "position", "game_id": "g-ab", "ts_ms": ts0 + k * 100, "player_id": pid, "x_ft": x,
                 "y_ft": y} for k in range(10) for pid, (x, y) in placements.items()]

    def game(ts: int, event: str, **extra) -> dict:
        return {"type": "game", "game_id": "g-ab", "ts_ms": ts, "event": event, **extra}

    a = {11: (-2.0, 0.0), 21: (2.0, 0.0), 12: (-15.0, 10.0)}
    b = {11: (-15.0, 10.0), 21: (2.0, 0.0), 12: (-2.0, 0.0)}
    publisher = RecordingPublisher()
    service = make_service(InMemoryStateStore(), InMemoryLedger(), publisher, InMemoryPlayerStats())
    sequence = 1
    for batch, current_home in (([lineup, game(0, "period_start", period=1), game(100, "clock_start"),
                                  game(5000, "whistle"), *still(5100, a)], 11),
                                (still(6200, b), 12), (still(7300, a), 11)):
        process_tracking_event(kinesis_event(batch, sequence), service)
        sequence += len(batch)
        view = service.current_prediction("g-ab")
        assert view["prediction"]["home_player_id"] == current_home
        assert view["takers"] == {"home_player_id": current_home, "away_player_id": 21}
    assert [d["data"]["home_player_id"] for d in publisher.details] == [11, 12, 11]
    assert len({d["event_id"] for d in publisher.details}) == 3
    first, _, again = (d["data"] for d in publisher.details)
    assert again["home_win_probability"] == first["home_win_probability"]


def test_each_faceoff_taken_publishes_one_faceoff_resolved_matching_its_predictions():
    """Issue 19 item 1: the face-off's outcome as an event, the ground truth of its predictions."""
    game = simulate_game("g-results", seed=5, faceoffs_per_period=4, periods=1, waive_out_rate=0.5)
    store, ledger, stats, publisher = InMemoryStateStore(), InMemoryLedger(), InMemoryPlayerStats(), RecordingPublisher()
    service = make_service(store, ledger, publisher, stats)
    chunks = [game.records[i:i + 250] for i in range(0, len(game.records), 250)]
    sequence = 1
    for chunk in chunks:
        event = kinesis_event(chunk, sequence)
        process_tracking_event(event, service)
        process_tracking_event(event, service)  # delivered twice: still one event per face-off
        sequence += len(chunk)
    taken = [r for r in game.records if r.get("type") == "game" and r.get("event") == "faceoff"]
    assert len(publisher.resolved) == len(taken) > 0
    assert len({d["event_id"] for d in publisher.resolved}) == len(taken)
    predicted_seqs = {d["data"]["faceoff_seq"] for d in publisher.details}
    for detail in publisher.resolved:
        assert_valid_event("FaceoffResolved", detail)
        data = detail["data"]
        assert data["winner_id"] == (data["home_player_id"] if data["home_won"] else data["away_player_id"])
    assert predicted_seqs <= {d["data"]["faceoff_seq"] for d in publisher.resolved}
