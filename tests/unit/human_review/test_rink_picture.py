"""The face-off setup task's rink picture: positions drawn in place, nothing of the event as markup."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

from human_review.logic.rink import rink_picture_data_uri, rink_svg

NS = "{http://www.w3.org/2000/svg}"


def prediction(players: list) -> dict:
    return {"dot": {"name": "end_+x_-y", "x_ft": 69.0, "y_ft": -22.0, "zone": "O"},
            "home_player_id": 11, "away_player_id": 22, "detection": {"players": players}}


def test_players_are_drawn_where_they_stood_and_the_takers_are_marked():
    svg = rink_svg(prediction([
        {"player_id": 11, "side": "home", "position": "C", "x_ft": 67.5, "y_ft": -22.0},
        {"player_id": 22, "side": "away", "position": "C", "x_ft": 70.5, "y_ft": -22.0},
        {"player_id": 33, "side": "home", "position": "D", "x_ft": 0.0, "y_ft": 0.0},
    ]))
    root = ET.fromstring(svg)  # noqa: S314 - our own output, checked to be well-formed XML
    circles = {(c.get("class"), c.get("cx"), c.get("cy")) for c in root.iter(f"{NS}circle")}
    assert ("taker", "502.5", "193.5") in circles and ("taker", "511.5", "193.5") in circles
    assert ("player", "300.0", "127.5") in circles  # centre ice
    assert ("detected-dot", "507.0", "193.5") in circles
    assert [t.text for t in root.iter(f"{NS}text")] == ["11", "22", "33"]


def test_values_that_are_not_numbers_or_known_sides_are_left_out():
    hostile = '"><script>alert(1)</script>'
    svg = rink_svg(prediction([
        {"player_id": hostile, "side": "home", "x_ft": 1.0, "y_ft": 1.0},
        {"player_id": 5, "side": hostile, "x_ft": 1.0, "y_ft": 1.0},
        {"player_id": 6, "side": "away", "x_ft": float("nan"), "y_ft": 1.0},
        {"player_id": 7, "side": "away", "x_ft": True, "y_ft": 1.0},
        {"player_id": 8, "side": "away", "x_ft": 1e9, "y_ft": -1e9},  # clamped to the boards
        "not a player",
    ]) | {"dot": {"x_ft": hostile}})
    ET.fromstring(svg)  # noqa: S314 - our own output
    assert "script" not in svg and "alert" not in svg
    assert svg.count('class="player"') == 1 and 'cx="615.0" cy="268.5"' in svg
    assert 'class="detected-dot"' not in svg


def test_the_picture_is_a_base64_svg_data_uri():
    uri = rink_picture_data_uri(prediction([]))
    head, _, body = uri.partition(",")
    assert head == "data:image/svg+xml;base64"
    assert base64.b64decode(body).decode().startswith("<svg ")
