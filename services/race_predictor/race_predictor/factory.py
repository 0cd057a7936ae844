"""Builds race_predictor's objects from its settings, once per process (every entry point uses these).

Each function is cached: the first call (in Lambda's init phase or the first request) reads the
settings and creates the adapters; tests call `cache_clear()` to get a fresh sandbox.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pitwall_shared.observability import observability
from pitwall_shared.publisher import EventPublisher
from pitwall_shared.settings import load_settings
from race_predictor.adapters.dynamodb import DynamoPublishLedger, DynamoStateStore
from race_predictor.adapters.player_stats import DynamoPlayerStats
from race_predictor.logic.common.sweeper import OutboxSweeper
from race_predictor.logic.common.updates import OutboxPublisher
from race_predictor.logic.f1.predictor import TreePitBattlePredictor
from race_predictor.logic.f1.service import F1Service
from race_predictor.logic.nhl.predictor import FaceoffModel
from race_predictor.logic.nhl.service import NhlService
from race_predictor.settings import ModelSettings, NhlSettings, RacePredictorSettings

logger, _metrics, _tracer = observability("race_predictor")


# --- F1 --------------------------------------------------------------------------------------------
@functools.cache
def f1_predictor() -> TreePitBattlePredictor:
    manifest = load_settings(ModelSettings).f1_model_manifest
    return TreePitBattlePredictor.load(Path(manifest) if manifest else None)


@functools.cache
def f1_service() -> F1Service:
    """The process's F1 service, built on first use."""
    settings = load_settings(RacePredictorSettings)
    return F1Service(
        store=DynamoStateStore(settings.race_state_table_name),
        ledger=DynamoPublishLedger(settings.race_state_table_name),
        publisher=EventPublisher(source="pitwall.race_predictor", bus_name=settings.event_bus_name),
        predictor=f1_predictor(),
        on_publish_error=lambda error: logger.warning("prediction publish failed; left in outbox",
                                                      extra={"error": type(error).__name__}),
    )


# --- NHL -------------------------------------------------------------------------------------------
@functools.cache
def faceoff_model() -> FaceoffModel:
    return FaceoffModel()


@functools.cache
def nhl_service() -> NhlService:
    """The process's NHL service, built on first use."""
    settings = load_settings(NhlSettings)
    return NhlService(
        store=DynamoStateStore(settings.race_state_table_name),
        ledger=DynamoPublishLedger(settings.race_state_table_name),
        publisher=EventPublisher(source="pitwall.race_predictor", bus_name=settings.event_bus_name),
        stats=DynamoPlayerStats(settings.player_stats_table_name),
        model=faceoff_model(),
        tracking=settings.nhl_tracking,
    )


# --- outbox sweeper (issue 16 item 4) --------------------------------------------------------------
@functools.cache
def outbox_sweeper() -> OutboxSweeper:
    """The process's outbox sweeper (F1 and NHL items alike), built on first use."""
    settings = load_settings(RacePredictorSettings)
    ledger = DynamoPublishLedger(settings.race_state_table_name)
    publisher = EventPublisher(source="pitwall.race_predictor", bus_name=settings.event_bus_name)
    return OutboxSweeper(
        store=DynamoStateStore(settings.race_state_table_name),
        outbox=OutboxPublisher(ledger, publisher),
        on_error=lambda key, error: logger.warning("outbox publish failed; left for the next sweep",
                                                   extra={"error": type(error).__name__}),
    )
