"""Kinesis batch glue for the tracking stream: Powertools batch processing around `NhlService`.

Owns decoding each Kinesis record (a malformed one fails alone, reported by sequence number with
a message naming the field) and merging the service's per-game failures into the partial batch
response, so that Lambda retries from the first failed record and never stalls the shard.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from pitwall_shared.events import EventPublisher
from pitwall_shared.settings import load_settings
from race_predictor.common.adapters.dynamodb import DynamoPublishLedger, DynamoStateStore
from race_predictor.common.settings import RacePredictorSettings
from race_predictor.nhl.adapters.player_stats import DynamoPlayerStats
from race_predictor.nhl.predictor import FaceoffModel
from race_predictor.nhl.records import MalformedRecord, parse_record
from race_predictor.nhl.service import BatchReport, NhlService, TrackingRecord


class NhlSettings(RacePredictorSettings):
    """PLAYER_STATS_TABLE_NAME: the face-off records of every player (loaded by ml/nhl/load_player_stats)."""

    player_stats_table_name: str


@functools.cache
def faceoff_model() -> FaceoffModel:
    return FaceoffModel()


@functools.cache
def nhl_service() -> NhlService:
    """The process's NHL service, built on first use (tests monkeypatch this function)."""
    settings = load_settings(NhlSettings)
    return NhlService(
        store=DynamoStateStore(settings.race_state_table_name),
        ledger=DynamoPublishLedger(settings.race_state_table_name),
        publisher=EventPublisher(source="pitwall.race_predictor", bus_name=settings.event_bus_name),
        stats=DynamoPlayerStats(settings.player_stats_table_name),
        model=faceoff_model(),
    )


def process_tracking_event(event: dict[str, Any], service: NhlService, logger: Any = None
                           ) -> tuple[dict[str, Any], BatchReport]:
    """Process a Kinesis event; return the partial batch response and what the batch did."""
    parsed: list[tuple[str, TrackingRecord]] = []

    def decode(record: KinesisStreamRecord) -> None:
        sequence = record.kinesis.sequence_number
        try:
            parsed.append((sequence, parse_record(record.kinesis.data_as_bytes())))
        except MalformedRecord as error:
            if logger is not None:
                logger.warning("malformed tracking record", extra={"sequence_number": sequence,
                                                                   "problem": str(error)})
            raise

    processor = BatchProcessor(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
    with processor(records=event.get("Records", []), handler=decode):
        processor.process()
    failures = list(processor.response()["batchItemFailures"])
    report = service.process_batch(parsed) if parsed else BatchReport()
    failures += [{"itemIdentifier": sequence} for sequence in report.failed_sequences]
    return {"batchItemFailures": failures}, report
