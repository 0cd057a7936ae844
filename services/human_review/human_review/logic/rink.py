"""The face-off setup review's picture: the players' positions at detection drawn on a rink (SVG).

Input is a `FaceoffPredicted` event's data (events/schemas/FaceoffPredicted.v1.json): the detected
dot, the two takers, and `detection.players` (id, side, position, x/y in feet, centre-ice origin).
Output is a `data:image/svg+xml;base64,...` URI that the worker template and the local reviewer page
show as an image (their CSP allows `img-src data:`). Only numbers and fixed names reach the SVG:
every value is converted to a float, an int or one of the known sides first, so nothing of the
event is ever markup. Pure.

Geometry (NHL rink, feet; shared/data/README.md): 200 x 85 boards with 28 ft corners, goal lines
at x = +-89, blue lines at x = +-25, face-off circles of radius 15 at centre and the end dots.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

SCALE = 3.0  # pixels per foot
HALF_LENGTH_FT, HALF_WIDTH_FT, CORNER_FT = 100.0, 42.5, 28.0
DOTS_FT = [(0.0, 0.0), *((x, y) for x in (-69.0, -20.0, 20.0, 69.0) for y in (-22.0, 22.0))]
CIRCLES_FT = [(0.0, 0.0), *((x, y) for x in (-69.0, 69.0) for y in (-22.0, 22.0))]
SIDE_COLOUR = {"home": "#1f4fbf", "away": "#c0392b"}
MAX_PLAYERS = 60


def _px(x_ft: float, y_ft: float) -> tuple[float, float]:
    """Rink feet (centre origin, +y up) to SVG pixels (top-left origin, +y down)."""
    return round((x_ft + HALF_LENGTH_FT) * SCALE, 1), round((HALF_WIDTH_FT - y_ft) * SCALE, 1)


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return max(low, min(high, float(value)))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def rink_svg(prediction: Mapping[str, Any]) -> str:
    """The SVG text: rink, dots, the detected dot ringed, every player seen, the two takers marked."""
    width, height = 2 * HALF_LENGTH_FT * SCALE, 2 * HALF_WIDTH_FT * SCALE
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}">',
             "<title>Players at the moment of detection</title>",
             f'<rect x="1" y="1" width="{width - 2:.0f}" height="{height - 2:.0f}" rx="{CORNER_FT * SCALE:.0f}" '
             'fill="#f4f8fb" stroke="#333" stroke-width="2"/>']
    for x, colour, stroke in ((-89.0, "#c0392b", 1), (89.0, "#c0392b", 1), (-25.0, "#1f4fbf", 4),
                              (25.0, "#1f4fbf", 4), (0.0, "#c0392b", 4)):
        left, _ = _px(x, 0)
        parts.append(f'<line x1="{left}" y1="2" x2="{left}" y2="{height - 2:.0f}" stroke="{colour}" '
                     f'stroke-width="{stroke}" opacity="0.6"/>')
    for x, y in CIRCLES_FT:
        cx, cy = _px(x, y)
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="{15 * SCALE:.0f}" fill="none" stroke="#c0392b" opacity="0.5"/>')
    for x, y in DOTS_FT:
        cx, cy = _px(x, y)
        parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#c0392b"/>')
    dot = prediction.get("dot")
    if isinstance(dot, Mapping):
        dot_x, dot_y = _number(dot.get("x_ft"), -100, 100), _number(dot.get("y_ft"), -42.5, 42.5)
        if dot_x is not None and dot_y is not None:
            cx, cy = _px(dot_x, dot_y)
            parts.append(f'<circle class="detected-dot" cx="{cx}" cy="{cy}" r="{4 * SCALE:.0f}" fill="none" '
                         'stroke="#e6a700" stroke-width="3"/>')
    takers = {_int(prediction.get("home_player_id")), _int(prediction.get("away_player_id"))} - {None}
    detection = prediction.get("detection")
    players = detection.get("players") if isinstance(detection, Mapping) else None
    for player in (players if isinstance(players, list) else [])[:MAX_PLAYERS]:
        if not isinstance(player, Mapping) or player.get("side") not in SIDE_COLOUR:
            continue
        px, py = _number(player.get("x_ft"), -105, 105), _number(player.get("y_ft"), -47, 47)
        player_id = _int(player.get("player_id"))
        if px is None or py is None or player_id is None:
            continue
        cx, cy = _px(px, py)
        colour = SIDE_COLOUR[str(player["side"])]
        taker = player_id in takers
        parts.append(f'<circle class="{"taker" if taker else "player"}" cx="{cx}" cy="{cy}" '
                     f'r="{7 if taker else 5}" fill="{colour}" stroke="{"#000" if taker else "#fff"}" '
                     f'stroke-width="{2 if taker else 1}"/>')
        parts.append(f'<text x="{cx + 8}" y="{cy - 6}" font-size="11" font-family="sans-serif" '
                     f'fill="{colour}">{player_id}</text>')
    parts.append("</svg>")
    return "".join(parts)


def rink_picture_data_uri(prediction: Mapping[str, Any]) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(rink_svg(prediction).encode("ascii")).decode("ascii")
