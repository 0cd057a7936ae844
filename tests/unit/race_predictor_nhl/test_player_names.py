"""Takers' names: from the lineup's roster to FaceoffPredicted, never part of what is predicted once.

Also the demo's lookup of names in the shared face-off files (streamed, title-cased, absent data).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from local.demos.race_nhl import player_names
from ml.nhl.simulator import default_lineup, simulate_game
from race_predictor.handlers import process_tracking_event
from race_predictor.logic.nhl.detection import GameState, StepOutput, apply_record
from race_predictor.logic.nhl.stats import InMemoryPlayerStats
from race_predictor.logic.ports import InMemoryLedger, InMemoryStateStore
from race_predictor.models.nhl import LineupRecord, MalformedRecord, parse_record
from tests.contracts import assert_valid_event, validator
from tests.unit.race_predictor_nhl.test_service_batches import (
    RecordingPublisher,
    kinesis_event,
    make_service,
)

HOME_IDS = [8475745, 8478401, 8481556, 8483505]
AWAY_IDS = [8475166, 8479318, 8480144, 8483489]
NAMES = {pid: f"Player {pid}" for pid in HOME_IDS + AWAY_IDS}


def _published(lineup: list[dict], game_id: str = "g-names") -> list[dict]:
    game = simulate_game(game_id, seed=11, faceoffs_per_period=3, periods=1, waive_out_rate=0.5, lineup=lineup)
    publisher = RecordingPublisher()
    service = make_service(InMemoryStateStore(), InMemoryLedger(), publisher, InMemoryPlayerStats())
    response, _ = process_tracking_event(kinesis_event(game.records, 1), service)
    assert response == {"batchItemFailures": []}
    assert len(publisher.details) == sum(len(f.setups) for f in game.faceoffs) > 0
    return publisher.details


def test_lineup_names_reach_the_predictions_and_the_events_follow_the_schema():
    lineup = default_lineup(HOME_IDS, AWAY_IDS, NAMES)
    assert validator("TrackingRecordLineup.v1").is_valid(
        {"type": "lineup", "game_id": "g", "season": 20232024, "home_team": "BOS", "away_team": "TOR",
         "players": lineup})
    details = _published(lineup)
    for detail in details:
        assert_valid_event("FaceoffPredicted", detail)
        data = detail["data"]
        # Only the first four of each side have names; a nameless taker gets null.
        assert data["home_player_name"] == NAMES.get(data["home_player_id"])
        assert data["away_player_name"] == NAMES.get(data["away_player_id"])
    assert any(d["data"]["home_player_name"] for d in details)


def test_a_lineup_without_names_still_validates_with_null_names():
    for detail in _published(default_lineup(HOME_IDS, AWAY_IDS)):
        assert_valid_event("FaceoffPredicted", detail)
        assert detail["data"]["home_player_name"] is None and detail["data"]["away_player_name"] is None


def test_names_do_not_change_what_counts_as_a_new_prediction():
    named = _published(default_lineup(HOME_IDS, AWAY_IDS, NAMES))
    nameless = _published(default_lineup(HOME_IDS, AWAY_IDS))
    # Same event ids (the ledger / cache key) and the same probabilities with or without names.
    assert [d["event_id"] for d in named] == [d["event_id"] for d in nameless]
    assert [d["data"]["home_win_probability"] for d in named] == \
        [d["data"]["home_win_probability"] for d in nameless]

    # A lineup re-sent mid-face-off with new names does not trigger the set-up again.
    game = simulate_game("g-rename", seed=12, faceoffs_per_period=1, periods=1, waive_out_rate=0.0,
                         lineup=default_lineup(HOME_IDS, AWAY_IDS, NAMES))
    state, out = GameState(game_id="g-rename"), StepOutput()
    records = [parse_record(r) for r in game.records]
    first = 0
    while not out.setups:
        apply_record(state, records[first], out)
        first += 1
    combination = out.setups[0].combination
    renamed = copy.deepcopy(game.records[0])
    for player in renamed["players"]:
        player["name"] = "Someone Else"
    apply_record(state, parse_record(renamed), out)
    for record in records[first:]:
        if record.type == "game" and record.event == "faceoff":
            break
        apply_record(state, record, out)
    assert [s.combination for s in out.setups].count(combination) == 1
    assert state.roster[str(HOME_IDS[0])].name == "Someone Else"


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_a_name_outside_1_to_64_characters_is_malformed(name):
    lineup = {"type": "lineup", "game_id": "g", "season": 20232024, "home_team": "BOS", "away_team": "TOR",
              "players": default_lineup(HOME_IDS, AWAY_IDS)}
    lineup["players"][0]["name"] = name
    with pytest.raises(MalformedRecord, match=r"players\.0\.name"):
        parse_record(lineup)
    assert not validator("TrackingRecordLineup.v1").is_valid(lineup)
    lineup["players"][0]["name"] = "Charlie Coyle"
    assert isinstance(parse_record(lineup), LineupRecord)


def test_demo_names_come_from_the_shared_files_title_cased_and_absent_data_gives_none(tmp_path: Path):
    assert player_names(None, [1]) == {} and player_names(tmp_path, [1]) == {}
    (tmp_path / "faceoffs_2021_2023_early_pbp.csv").write_text(
        "event_player_1_name,event_player_1_id,event_player_2_name,event_player_2_id\n"
        "J.T..Miller,8476468,Connor.McDavid,8478402\n")
    (tmp_path / "faceoffs_2017_2020_pbp.csv").write_text(
        "p1_name,p1_ID,p2_name,p2_ID\n"
        "NAZEM KADRI,8475172.0,MARK SCHEIFELE,8476460.0\n"
        "RYAN O'REILLY,8475158.0,,\n")
    found = player_names(tmp_path, [8476468, 8478402, 8475172, 8475158, 999])
    assert found == {8476468: "J.T. Miller", 8478402: "Connor McDavid", 8475172: "Nazem Kadri",
                     8475158: "Ryan O'Reilly"}
    # Everyone found in the newer file: the older one is not read (here it could not be).
    (tmp_path / "faceoffs_2017_2020_pbp.csv").write_bytes(b"\xff\xfe not csv")
    assert player_names(tmp_path, [8476468]) == {8476468: "J.T. Miller"}
