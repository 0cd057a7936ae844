"""The NHL face-off use cases: a batch of tracking records in, face-off predictions published once.

Owns the order of work for a batch (apply records to each game's state, score every new set-up in
one model call, save the states with an outbox, publish through the ledger, count results in the
player stats) and the HTTP use cases (current prediction, predict, record a result). Talks to AWS
only through the ports it is given (state store, ledger, publisher, player stats).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from race_predictor.logic.common.updates import OutboxEntry, publish_outbox
from race_predictor.logic.nhl.detection import (
    DOTS,
    FaceoffSetup,
    GameState,
    StepOutput,
    Tracking,
    apply_record,
)
from race_predictor.logic.nhl.features import confidence, faceoff_features
from race_predictor.logic.nhl.stats import PlayerStatsStore, apply_result, records_of
from race_predictor.logic.ports import PublishLedger, StateStore, VersionConflict
from race_predictor.models.nhl import GameRecord, LineupRecord, PositionRecord, PredictRequest, ResultRequest

DETAIL_TYPE = "FaceoffPredicted"
RESULT_DETAIL_TYPE = "FaceoffResolved"  # the ground truth of the face-off's predictions (issue 19)
STATE_TTL_S = 7 * 24 * 3600
TrackingRecord = LineupRecord | PositionRecord | GameRecord


def state_key(game_id: str) -> str:
    return f"NHL#{game_id}"


@dataclass
class BatchReport:
    """What one batch did: per game that failed, the sequence numbers to report as failures."""

    failed_sequences: list[str] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    setups: int = 0
    results: int = 0
    duplicates: int = 0


@dataclass
class NhlService:
    store: StateStore
    ledger: PublishLedger
    publisher: Any
    stats: PlayerStatsStore
    model: Any  # FaceoffModel: .version, .home_win_probabilities(rows)
    now: Callable[[], float] = time.time
    tracking: Tracking = "league"  # the feed's kind: which set rule new games use
    # Outbox entries / results known done by this process, pruned from the state at the next save.
    _done: dict[str, set[str]] = field(default_factory=dict)

    # --- stream -------------------------------------------------------------------------------
    def process_batch(self, items: Sequence[tuple[str, TrackingRecord]], *,
                      correlation_id: str | None = None) -> BatchReport:
        """Apply `(sequence_number, record)` pairs (stream order) and publish what they trigger."""
        report = BatchReport()
        by_game: dict[str, list[tuple[str, TrackingRecord]]] = {}
        for sequence, record in items:
            by_game.setdefault(record.game_id, []).append((sequence, record))

        loaded: dict[str, tuple[dict[str, Any], int, GameState, StepOutput]] = {}
        for game_id, game_items in by_game.items():
            stored = self.store.load(state_key(game_id))
            body = stored.body or {"outbox": [], "pending_results": []}
            state = GameState.model_validate(body["game"]) if "game" in body else GameState(game_id=game_id, tracking=self.tracking)
            output = StepOutput()
            for sequence, record in game_items:
                if state.last_sequence and int(sequence) <= int(state.last_sequence):
                    report.duplicates += 1  # re-delivered after a partial batch failure
                    continue
                apply_record(state, record, output)
                state.last_sequence = sequence
            loaded[game_id] = (body, stored.version, state, output)

        setups = [setup for *_, output in loaded.values() for setup in output.setups]
        predictions = self._predict_setups(setups)
        report.setups = len(setups)

        made_at = self.now()  # an entry's creation: the outbox sweeper leaves it alone for STALE_CLAIM_S
        expires_at = int(made_at) + STATE_TTL_S
        for game_id, (body, version, state, output) in loaded.items():
            done = self._done.get(game_id, set())
            outbox = [e for e in body.get("outbox", []) if e["entry"] not in done]
            pending = [r for r in body.get("pending_results", []) if r["result_id"] not in done]
            for setup in output.setups:
                data = predictions[id(setup)]
                outbox.append(OutboxEntry(setup.combination, DETAIL_TYPE,
                                          f"nhl:{game_id}:{setup.combination}", data, made_at).to_json())
                body["last_prediction"] = data
            pending += [{"result_id": f"{game_id}:{r.ts_ms}", **r.model_dump(mode="json")} for r in output.results]
            for r in output.results:
                outbox.append(OutboxEntry(f"R{r.faceoff_seq}:{r.ts_ms}", RESULT_DETAIL_TYPE,
                                          f"nhl:{game_id}:result:{r.faceoff_seq}:{r.ts_ms}", {
                                              "game_id": game_id, "faceoff_seq": r.faceoff_seq,
                                              "home_player_id": r.home_player_id, "away_player_id": r.away_player_id,
                                              "winner_id": r.home_player_id if r.home_won else r.away_player_id,
                                              "home_won": r.home_won, "ts_ms": r.ts_ms}, made_at).to_json())
            state.count("predictions", len(output.setups))
            body.update(game=state.model_dump(mode="json"), outbox=outbox, pending_results=pending)
            try:
                self.store.save(state_key(game_id), body, version, expires_at)
            except VersionConflict:
                report.failed_sequences += [sequence for sequence, _ in by_game[game_id]]
                continue
            outcome = publish_outbox(self.ledger, self.publisher, state_key(game_id),
                                     [OutboxEntry.from_json(e) for e in outbox],
                                     correlation_id=correlation_id, expires_at=expires_at, now=self.now)
            # Predictions only (what the handler counts); the results' FaceoffResolved go out alike.
            report.published += [d for d in outcome.published if ":result:" not in str(d.get("event_id"))]
            finished = set(outcome.done)
            for result in pending:
                apply_result(self.stats, result_id=result["result_id"], home_id=str(result["home_player_id"]),
                             away_id=str(result["away_player_id"]), home_won=result["home_won"],
                             season=result["situation"]["season"], home_side=result["situation"].get("home_side"))
                finished.add(result["result_id"])
                report.results += 1
            self._done[game_id] = finished
        return report

    def _predict_setups(self, setups: list[FaceoffSetup]) -> dict[int, dict[str, Any]]:
        if not setups:
            return {}
        ids = {str(pid) for s in setups for pid in (s.home_player_id, s.away_player_id)}
        records = records_of(self.stats, ids)  # one BatchGetItem for the whole batch
        pairs = [(records[str(s.home_player_id)], records[str(s.away_player_id)]) for s in setups]
        rows = [faceoff_features(home, away, s.situation) for (home, away), s in zip(pairs, setups, strict=True)]
        probabilities = self.model.home_win_probabilities(rows)  # one model call for the batch
        out: dict[int, dict[str, Any]] = {}
        for setup, (home, away), probability in zip(setups, pairs, probabilities, strict=True):
            x, y = DOTS[setup.dot]
            out[id(setup)] = {
                "game_id": setup.game_id, "faceoff_seq": setup.faceoff_seq,
                "dot": {"name": setup.dot, "x_ft": x, "y_ft": y, "zone": setup.situation.zone},
                "home_player_id": setup.home_player_id, "away_player_id": setup.away_player_id,
                "home_player_name": setup.home_player_name, "away_player_name": setup.away_player_name,
                "home_win_probability": round(float(probability), 6),
                "confidence": confidence(home, away), "model_version": self.model.version,
                "trigger": setup.trigger, "period": setup.situation.period,
                "seconds_elapsed": setup.situation.seconds_elapsed, "ts_ms": setup.ts_ms,
            }
            if setup.detection is not None:
                out[id(setup)]["detection"] = {"label": "setup-right", **setup.detection.model_dump(mode="json")}
        return out

    # --- HTTP ---------------------------------------------------------------------------------
    def current_prediction(self, game_id: str) -> dict[str, Any] | None:
        """The game's latest face-off prediction and where the game stands; None for an unknown game."""
        stored = self.store.load(state_key(game_id))
        if stored.body is None or "game" not in stored.body:
            return None
        game = stored.body["game"]
        takers = game.get("takers")
        return {"game_id": game_id, "phase": game["phase"], "period": game["period"],
                "faceoff_seq": game["faceoff_seq"],
                # The pair at the dot now (None until a set-up is seen this stoppage); `prediction` is
                # the latest one published, which is this pair's once it has been set (issue 18.6).
                "takers": None if takers is None else {"home_player_id": takers[0], "away_player_id": takers[1]},
                "prediction": stored.body.get("last_prediction")}

    def predict(self, request: PredictRequest) -> dict[str, Any]:
        home_id, away_id = str(request.home_player_id), str(request.away_player_id)
        records = records_of(self.stats, [home_id, away_id])
        row = faceoff_features(records[home_id], records[away_id], request.situation())
        probability = self.model.home_win_probabilities([row])[0]
        return {"home_player_id": request.home_player_id, "away_player_id": request.away_player_id,
                "home_win_probability": round(float(probability), 6),
                "confidence": confidence(records[home_id], records[away_id]),
                "model_version": self.model.version}

    def record_result(self, request: ResultRequest) -> dict[str, Any]:
        home_won = request.winner_id == request.home_player_id
        # Without a result id every POST is a new face-off (a season replayed in order through the API).
        result_id = request.result_id or f"api:{time.time_ns()}"
        counted = apply_result(self.stats, result_id=result_id, home_id=str(request.home_player_id),
                               away_id=str(request.away_player_id), home_won=home_won, season=request.season,
                               home_side=request.home_side)
        records = records_of(self.stats, [str(request.home_player_id), str(request.away_player_id)])
        return {"counted": counted, "players": [
            {"player_id": int(pid), "career_wins": r.career_wins, "career_total": r.career_total,
             "season_wins": r.season_wins, "season_total": r.season_total} for pid, r in records.items()]}


