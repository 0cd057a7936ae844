"""Battle opening, updating, resolving and expiring on hand-built races (issue 4's definition)."""

from __future__ import annotations

from race_predictor.logic.f1.battles import BattleRules, derive_battles, prediction_laps
from race_predictor.logic.f1.state import RaceState, apply_messages
from race_predictor.models.f1 import parse_message
from tests.unit.race_predictor_f1.f1_builders import RaceScript, undercut_race


def state_of(race: RaceScript, upto_seq: int | None = None) -> RaceState:
    state = RaceState("r1")
    apply_messages(state, [parse_message(m) for m in race.messages if upto_seq is None or m["seq"] <= upto_seq])
    return state


def two_car_race(gap_ms: int, laps: int = 4) -> RaceScript:
    race = RaceScript(drivers=("AAA", "BBB"), start_offsets_ms={"AAA": 0, "BBB": gap_ms})
    race.laps(laps)
    return race


def test_undercut_opens_updates_and_resolves_with_hand_computed_outcome():
    race = undercut_race()
    battles = derive_battles(state_of(race))
    assert len(battles) == 1
    battle = battles[0]
    assert (battle.battle_id, battle.opened_lap, battle.ahead, battle.behind) == ("L5-AAA-BBB", 5, "AAA", "BBB")
    assert battle.first_stopper == "BBB" and battle.kind == "undercut"
    assert battle.gap_before_s == 1.0
    assert (battle.status, battle.other_stop_lap, battle.resolved_lap) == ("resolved", 7, 8)
    assert battle.swapped is True and battle.gap_s == 6.5
    assert prediction_laps(state_of(race), battle) == [5, 6, 7]


def test_battle_is_open_between_first_stop_and_resolution():
    race = undercut_race()
    last_seq_of_lap = {}
    for message in race.messages:
        if message["type"] == "lap_completed":
            last_seq_of_lap[message["lap"]] = message["seq"]
    # after lap 5 and its pit_in: open, one prediction lap
    state = state_of(race, upto_seq=last_seq_of_lap[5] + 2)
    (battle,) = derive_battles(state)
    assert battle.status == "open" and prediction_laps(state, battle) == [5]
    state = state_of(race, upto_seq=last_seq_of_lap[7] + 2)  # lap 7 done, AAA has pitted
    (battle,) = derive_battles(state)
    assert battle.status == "open" and battle.other_stop_lap == 7 and prediction_laps(state, battle) == [5, 6, 7]
    # before lap 5's pit_in arrives there is no battle
    assert derive_battles(state_of(race, upto_seq=last_seq_of_lap[5])) == []


def test_overcut_failure_outcome_and_negative_gap():
    race = two_car_race(gap_ms=2000)  # BBB 2.0 s behind after lap 4
    race.lap()
    race.pit("AAA")  # the car ahead stops first: BBB tries the overcut
    race.lap({"AAA": 110_000})  # AAA out-lap: BBB now ahead on track
    race.lap()
    race.pit("BBB")
    race.lap({"BBB": 110_000})  # BBB out-lap on lap 8, AAA gets back ahead
    (battle,) = derive_battles(state_of(race))
    assert battle.kind == "overcut" and battle.first_stopper == "AAA"
    assert battle.status == "resolved" and battle.resolved_lap == 8
    # after lap 8: AAA 7 x 90 s + 110 s = 740 s; BBB 2 s + 7 x 90 s + 110 s = 742 s
    assert battle.gap_s == -2.0 and battle.swapped is False


def test_gap_threshold_is_inclusive_and_configurable():
    for gap_ms, opens in ((3000, True), (3001, False)):
        race = two_car_race(gap_ms)
        race.lap()
        race.pit("BBB")
        assert bool(derive_battles(state_of(race))) is opens, gap_ms
    race = two_car_race(2500)
    race.lap()
    race.pit("BBB")
    assert derive_battles(state_of(race), BattleRules(max_gap_s=2.0)) == []


def test_no_battle_when_both_pit_on_the_same_lap_or_cars_not_consecutive():
    race = two_car_race(1000)
    race.lap()
    race.pit("AAA")
    race.pit("BBB")
    assert derive_battles(state_of(race)) == []
    race = RaceScript(drivers=("AAA", "BBB", "CCC"), start_offsets_ms={"AAA": 0, "BBB": 500, "CCC": 1000})
    race.laps(4)
    race.pit("AAA")
    battles = derive_battles(state_of(race))
    # AAA's stop opens only against BBB (consecutive), not against CCC (two places back)
    assert [(b.ahead, b.behind) for b in battles] == [("AAA", "BBB")]


def test_no_battle_from_a_stop_on_lap_one():
    race = two_car_race(1000, laps=1)
    race.pit("BBB")
    assert derive_battles(state_of(race)) == []


def test_expires_when_the_other_car_does_not_stop_within_the_window():
    race = two_car_race(1000)
    race.lap()
    race.pit("BBB")  # p = 5
    race.laps(7)  # laps 6..12
    (battle,) = derive_battles(state_of(race))
    assert battle.status == "open" and prediction_laps(state_of(race), battle) == list(range(5, 13))
    race.lap()  # lap 13 = p + 8 without AAA stopping
    (battle,) = derive_battles(state_of(race))
    assert battle.status == "expired" and battle.expired_lap == 13
    assert prediction_laps(state_of(race), battle) == list(range(5, 13))
    race.pit("AAA")  # a stop at the end of lap 13 = p + 8 does count: it comes within 8 laps
    first, second = derive_battles(state_of(race))
    assert first.status == "open" and first.other_stop_lap == 13
    # ... and, the cars still being within 3 s, AAA's stop also opens a battle of its own
    assert (second.opened_lap, second.first_stopper) == (13, "AAA")


def test_stop_nine_laps_later_is_outside_the_window():
    race = two_car_race(1000)
    race.lap()
    race.pit("BBB")
    race.laps(9)
    race.pit("AAA")  # p + 9
    race.lap()
    battle = derive_battles(state_of(race))[0]
    assert battle.opened_lap == 5 and battle.status == "expired" and battle.expired_lap == 13


def test_race_end_expires_an_open_battle():
    race = two_car_race(1000)
    race.lap()
    race.pit("BBB")
    race.lap()
    race.end()
    (battle,) = derive_battles(state_of(race))
    assert battle.status == "expired" and battle.expired_lap == 6


def test_window_is_configurable():
    race = two_car_race(1000)
    race.lap()
    race.pit("BBB")
    race.laps(3)
    (battle,) = derive_battles(state_of(race), BattleRules(window_laps=3))
    assert battle.status == "expired" and battle.expired_lap == 8
