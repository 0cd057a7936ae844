"""One F1 call end to end: apply timing messages to the race item, predict, publish once, answer.

The race item is read and written once per call through `update_with_retries` (optimistic
locking); it holds a bounded window of the race (`WINDOW_LAPS`, `state.py`), so a call costs the
same at lap 60 as at lap 5. New predictions go into the item's outbox in the same write and are
then published by `OutboxPublisher`, which marks them in the ledger; the next write drops them from
the outbox, so neither a concurrent call nor a retried request publishes one twice. Closed battles
leave the item: their records live with their ledger entries, which only the GET views read.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pitwall_shared.events import Event, envelope
from race_predictor.logic.common.updates import OutboxEntry, OutboxPublisher, update_with_retries
from race_predictor.logic.f1.battles import (
    Battle,
    BattleRules,
    derive_battles,
    forget_closed,
    holds,
    prediction_laps,
)
from race_predictor.logic.f1.features import battle_features
from race_predictor.logic.f1.predictor import PitBattlePredictor, confidence
from race_predictor.logic.f1.state import RaceState, apply_messages, prune
from race_predictor.logic.ports import PublishLedger, StateStore
from race_predictor.models.f1 import MessageBatch

DETAIL_TYPE = "PitBattlePredicted"
RESOLVED_DETAIL_TYPE = "PitBattleResolved"
EVENT_NAMESPACE = uuid.UUID("4f1c7d0e-8a43-4d59-9a3e-5b1f2c6d7e80")
TTL_AFTER_END_S = 3 * 86400  # keep a finished race readable for three days
TTL_RUNNING_S = 14 * 86400  # a race whose feed stopped without race_end goes after two weeks
# Laps of each car the state keeps (its latest included), besides those its open battles read: a
# fact more than this many laps behind its car's latest when it arrives can no longer change a
# battle and only counts as applied (`state.py`). Five laps keep lap 60's item the size of lap 5's.
WINDOW_LAPS = 5


def state_key(race_id: str) -> str:
    return f"F1#{race_id}"


def prediction_entry(battle_id: str, lap: int) -> str:
    return f"{battle_id}@{lap}"


@dataclass(frozen=True)
class CallResult:
    accepted: int
    duplicates: list[int]
    predictions: list[dict[str, Any]]


def _prediction_data(race_id: str, state: RaceState, battle: Battle, lap: int, swap: float, gap: float,
                     resolve: float, model_version: str) -> dict[str, Any]:
    info = state.info
    swap = round(swap, 6)  # confidence from the published value, so a reader can recompute it
    return {
        "race_id": race_id,
        "season": info.season if info else None,
        "round": info.round if info else None,
        "circuit": info.circuit if info else None,
        "battle_id": battle.battle_id,
        "lap": lap,
        "opened_lap": battle.opened_lap,
        "ahead_driver": battle.ahead,
        "behind_driver": battle.behind,
        "first_stopper": battle.first_stopper,
        "kind": battle.kind,
        "swap_probability": swap,
        "predicted_gap_s": round(gap, 3),
        "confidence": confidence(swap),
        "resolve_probability": round(resolve, 6),
        "model_version": model_version,
    }


def _event_id(race_id: str, entry: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"f1/{race_id}/{entry}"))


def predict_new(race_id: str, state: RaceState, battles: list[Battle], predictor: PitBattlePredictor,
                rules: BattleRules, now: float) -> list[OutboxEntry]:
    """Predict every (battle, lap) not predicted before; record them in `state` and return them.
    Battles already closed (announced) are done: nothing more is predicted for them."""
    todo: list[tuple[Battle, int]] = []
    for battle in battles:
        if battle.battle_id in state.closed:
            continue
        for lap in prediction_laps(state, battle, rules):
            if prediction_entry(battle.battle_id, lap) not in state.predicted:
                todo.append((battle, lap))
    if not todo:
        return []
    rows = [battle_features(state, battle, lap, predictor.pit_loss_by_circuit) for battle, lap in todo]
    entries = []
    for (battle, lap), (swap, gap, resolve) in zip(todo, predictor.predict(rows), strict=True):
        data = _prediction_data(race_id, state, battle, lap, swap, gap, resolve, predictor.version)
        entry = prediction_entry(battle.battle_id, lap)
        state.predicted.add(entry)
        latest = state.predictions.get(battle.battle_id)
        if latest is None or latest["lap"] < lap:
            state.predictions[battle.battle_id] = data
        entries.append(OutboxEntry(entry, DETAIL_TYPE, _event_id(race_id, entry), data, now))
    return entries


def announce_outcomes(race_id: str, state: RaceState, battles: list[Battle], now: float) -> list[OutboxEntry]:
    """A `PitBattleResolved` event for every battle that ended (resolved or expired) and was not
    announced before: the ground truth for review and retraining, and the dashboard's outcome.

    An announced battle leaves the state: its id goes to `closed` (so it is neither predicted nor
    announced again while the window can still derive it), its predictions made and latest
    prediction are dropped, and its record for the battles view is kept with its ledger entry."""
    entries = []
    for battle in battles:
        if battle.status == "open" or battle.battle_id in state.closed:
            continue
        entry = f"{battle.battle_id}@end"
        latest = state.predictions.pop(battle.battle_id, None)
        state.closed.add(battle.battle_id)
        state.predicted = {done for done in state.predicted if not done.startswith(f"{battle.battle_id}@")}
        data = {
            "race_id": race_id,
            "battle_id": battle.battle_id,
            "status": battle.status,
            "kind": battle.kind,
            "ahead_driver": battle.ahead,
            "behind_driver": battle.behind,
            "first_stopper": battle.first_stopper,
            "opened_lap": battle.opened_lap,
            "ended_lap": battle.resolved_lap if battle.status == "resolved" else battle.expired_lap,
            "swapped": battle.swapped,
            "gap_s": None if battle.gap_s is None else round(battle.gap_s, 3),
            "last_swap_probability": latest["swap_probability"] if latest else None,
            "model_version": latest["model_version"] if latest else None,
        }
        keep = {**battle.to_json(), "latest_prediction": latest}
        entries.append(OutboxEntry(entry, RESOLVED_DETAIL_TYPE, _event_id(race_id, entry), data, now, keep))
    return entries


def advance(race_id: str, state: RaceState, predictor: PitBattlePredictor, rules: BattleRules,
            now: float) -> list[OutboxEntry]:
    """After new facts: derive the battles once (from the window), predict, announce what ended,
    then move the window (hold the laps the open battles read, drop the rest)."""
    battles = derive_battles(state, rules)
    entries = predict_new(race_id, state, battles, predictor, rules, now)
    entries += announce_outcomes(race_id, state, battles, now)
    state.hold = holds([battle for battle in battles if battle.battle_id not in state.closed], rules)
    prune(state)
    forget_closed(state)
    return entries


@dataclass
class F1Service:
    """Per POST: one strongly consistent read of the race's (small) state item, one conditional
    write carrying the new outbox entries (and dropping the published ones), one PutEvents, one
    batch write marking the events published. See `OutboxPublisher` for publishing once."""

    store: StateStore
    ledger: PublishLedger
    publisher: Any  # pitwall_shared.publisher.EventPublisher or anything with publish_many
    predictor: PitBattlePredictor
    rules: BattleRules = field(default_factory=BattleRules)
    clock: Callable[[], float] = time.time
    on_publish_error: Callable[[Exception], None] = lambda error: None
    window_laps: int | None = WINDOW_LAPS  # None keeps every fact (tests compare the two)
    outbox: OutboxPublisher = field(init=False)

    def __post_init__(self) -> None:
        self.outbox = OutboxPublisher(self.ledger, self.publisher, now=lambda: self.clock())

    def post_messages(self, race_id: str, batch: MessageBatch, correlation_id: str | None = None) -> CallResult:
        key = state_key(race_id)
        self.outbox.publisher = self.publisher  # (tests swap the publisher after building the service)

        def mutate(body: dict[str, Any] | None) -> tuple[dict[str, Any], Any, bool]:
            state = (RaceState.from_json(body["race"], window=self.window_laps) if body
                     else RaceState(race_id, window=self.window_laps))
            outbox = [OutboxEntry.from_json(raw) for raw in body.get("outbox", [])] if body else []
            look = self.outbox.look(key, outbox)
            remaining = look.remaining(outbox)
            accepted, duplicates = apply_messages(state, list(batch.messages))
            new_entries = advance(race_id, state, self.predictor, self.rules, self.clock()) if accepted else []
            new_body = {"race": state.to_json(), "outbox": [e.to_json() for e in remaining + new_entries],
                        "ended": state.ended}
            changed = bool(accepted) or len(remaining) < len(outbox)
            return new_body, (len(accepted), duplicates, new_entries, look), changed

        def expires_at_for(body: dict[str, Any]) -> int:
            # A finished race is kept three days for the GET views; an abandoned one two weeks.
            return int(self.clock() + (TTL_AFTER_END_S if body.get("ended") else TTL_RUNNING_S))

        updated = update_with_retries(self.store, key, mutate, expires_at=expires_at_for)
        accepted, duplicates, new_entries, look = updated.result
        outbox = [OutboxEntry.from_json(raw) for raw in updated.body.get("outbox", [])]
        self.outbox.forget(key, outbox)
        published: dict[str, dict[str, Any]] = {}
        if outbox:
            try:
                outcome = self.outbox.send(key, outbox, look, created=[e.entry for e in new_entries],
                                           correlation_id=correlation_id, expires_at=expires_at_for(updated.body))
            except Exception as error:  # left in the outbox: a later call sends them once stale
                self.on_publish_error(error)
            else:
                published = {d["event_id"]: d for d in outcome.published}
        predictions = [
            published.get(entry.event_id)
            or envelope(Event(entry.detail_type, entry.data, event_id=entry.event_id, correlation_id=correlation_id))
            for entry in new_entries if entry.detail_type == DETAIL_TYPE
        ]
        return CallResult(accepted, duplicates, predictions)

    # ---- views ---------------------------------------------------------------------------------
    def _load(self, race_id: str) -> tuple[RaceState, list[OutboxEntry]] | None:
        stored = self.store.load(state_key(race_id))
        if not stored.body:
            return None
        outbox = [OutboxEntry.from_json(raw) for raw in stored.body.get("outbox", [])]
        return RaceState.from_json(stored.body["race"], window=self.window_laps), outbox

    def load_state(self, race_id: str) -> RaceState | None:
        loaded = self._load(race_id)
        return None if loaded is None else loaded[0]

    def race_view(self, race_id: str) -> dict[str, Any] | None:
        state = self.load_state(race_id)
        return None if state is None else race_summary(state)

    def battles_view(self, race_id: str) -> dict[str, Any] | None:
        """Open battles from the state; closed ones from the records kept in the ledger (a Query of
        the race's ledger items: a GET may read the race's history, a POST never does) and from
        outbox entries not yet published."""
        loaded = self._load(race_id)
        if loaded is None:
            return None
        state, outbox = loaded
        closed = {record["battle_id"]: record for record in self.ledger.kept(state_key(race_id))}
        closed.update({entry.keep["battle_id"]: entry.keep for entry in outbox if entry.keep is not None})
        return battles_summary(state, self.rules, list(closed.values()))


def race_summary(state: RaceState) -> dict[str, Any]:
    """Order, gaps, tyres, stops and status at the latest lap each driver has completed."""
    info = state.info
    drivers: list[dict[str, Any]] = []
    for driver, by_lap in state.laps.items():
        if not by_lap:
            continue
        last = max(by_lap)
        fact = by_lap[last]
        drivers.append({
            "driver": driver,
            "team": info.teams.get(driver) if info else None,
            "position": fact.position,
            "laps_completed": last,
            "race_time_ms": fact.race_time_ms,
            "last_lap_time_ms": fact.lap_time_ms,
            "compound": _current_compound(state, driver, last, fact.compound),
            "tyre_age_laps": fact.tyre_age_laps,
            "stops": [{"lap": lap, **_stop_detail(state, driver, lap)} for lap in state.pit_laps(driver)],
        })
    drivers.sort(key=lambda d: (-d["laps_completed"], d["race_time_ms"]))
    leader = drivers[0] if drivers else None
    for ahead, entry in zip([None, *drivers[:-1]], drivers, strict=True):
        same_lap = leader is not None and entry["laps_completed"] == leader["laps_completed"]
        entry["gap_to_leader_s"] = round((entry["race_time_ms"] - leader["race_time_ms"]) / 1000, 3) if (
            leader and same_lap) else None
        entry["interval_s"] = round((entry["race_time_ms"] - ahead["race_time_ms"]) / 1000, 3) if (
            ahead and ahead["laps_completed"] == entry["laps_completed"]) else None
    return {
        "race_id": state.race_id,
        "season": info.season if info else None,
        "round": info.round if info else None,
        "circuit": info.circuit if info else None,
        "total_laps": info.total_laps if info else None,
        "lap": state.last_lap(),
        "status": "finished" if state.ended else ("running" if state.laps else "not_started"),
        "track_status": state.current_status(),
        "order": drivers,
    }


def _stop_detail(state: RaceState, driver: str, lap: int) -> dict[str, Any]:
    out = state.pit_outs.get(driver, {}).get(lap)
    return {"compound": out.compound if out else None,
            "pit_duration_ms": out.pit_duration_ms if out else None}


def _current_compound(state: RaceState, driver: str, last: int, reported: str | None) -> str | None:
    stops = [lap for lap in state.pit_laps(driver) if lap < last]
    if stops:
        out = state.pit_outs.get(driver, {}).get(stops[-1])
        if out and out.compound and reported is None:
            return out.compound
    return reported


def battles_summary(state: RaceState, rules: BattleRules, closed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every battle, sorted by opening lap then id: `closed` records (announced battles; None =
    derive them from the state, as training's full states allow) and the state's open ones."""
    records = {record["battle_id"]: record for record in closed or []}
    for battle in derive_battles(state, rules):
        if battle.battle_id in records or (closed is not None and battle.status != "open"):
            continue
        record = battle.to_json()
        record["latest_prediction"] = state.predictions.get(battle.battle_id)
        records[battle.battle_id] = record
    battles = sorted(records.values(), key=lambda b: (b["opened_lap"], b["ahead"], b["behind"]))
    return {
        "race_id": state.race_id,
        "open": [b for b in battles if b["status"] == "open"],
        "resolved": [b for b in battles if b["status"] == "resolved"],
        "expired": [b for b in battles if b["status"] == "expired"],
    }
