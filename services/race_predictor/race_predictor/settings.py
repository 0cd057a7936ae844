"""Environment of the race_predictor functions, parsed once at cold start (names match template.yaml).

`RacePredictorSettings` is what F1 needs (and NHL shares); `NhlSettings` adds the player-stats table.
"""

from __future__ import annotations

from typing import Literal

from pitwall_shared.settings import ServiceSettings


class ModelSettings(ServiceSettings):
    """F1_MODEL_MANIFEST: another F1 model bundle than the packaged one (a path; only the local
    replay of a hold-out season sets it, `ml/f1/replay.py --score --model`). Unset in the stack."""

    f1_model_manifest: str | None = None


class RacePredictorSettings(ServiceSettings):
    """RACE_STATE_TABLE_NAME: the state + ledger table; EVENT_BUS_NAME: where predictions go."""

    race_state_table_name: str
    event_bus_name: str


class NhlSettings(RacePredictorSettings):
    """PLAYER_STATS_TABLE_NAME: the face-off records of every player (loaded by ml/nhl/load_player_stats)."""

    player_stats_table_name: str
    # NHL_TRACKING: the kind of tracking feed, which picks the face-off set rule
    # (race_predictor.logic.nhl.detection.SET_RULES): the league's optical tracking, or broadcast-derived.
    nhl_tracking: Literal["league", "broadcast"] = "league"
