"""Environment of the race_predictor functions, parsed once (names match template.yaml)."""

from __future__ import annotations

from pitwall_shared.settings import ServiceSettings


class RacePredictorSettings(ServiceSettings):
    """RACE_STATE_TABLE_NAME: the state + ledger table; EVENT_BUS_NAME: where predictions go."""

    race_state_table_name: str
    event_bus_name: str
