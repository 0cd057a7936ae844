"""NHL face-off routes (a Chalice blueprint): GET /games/{game_id}/faceoff, POST /faceoffs/predict,
POST /faceoffs/results. Each route is one line; below them, what a route does: parse, delegate to
the NHL service from `factory`, shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from pitwall_shared.inputs import BadInput, read_json
from pitwall_shared.refusals import check_json_content_type
from race_predictor import factory
from race_predictor.logic.nhl.stats import VersionClash
from race_predictor.models.nhl import (
    PredictRequest,
    RequestError,
    ResultRequest,
    parse_request,
    validate_game_id,
)
from race_predictor.routes.answers import ANY_CONTENT_TYPE, bad_request, busy, current, json_answer

nhl = Blueprint(__name__)


@nhl.route("/games/{game_id}/faceoff", methods=["GET"], content_types=ANY_CONTENT_TYPE)  # a GET body is never read
def get_game_faceoff(game_id: str) -> Response:
    return game_view(game_id)


@nhl.route("/faceoffs/predict", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_faceoff_predict() -> Response:
    return answer(PredictRequest, lambda request: factory.nhl_service().predict(request))


@nhl.route("/faceoffs/results", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_faceoff_result() -> Response:
    return answer(ResultRequest, lambda request: factory.nhl_service().record_result(request))  # type: ignore[arg-type]


# --- what the routes do ---------------------------------------------------------------------------
def _body(model: type[PredictRequest]) -> PredictRequest:
    request = current(nhl.current_request)
    check_json_content_type(request.headers)
    return parse_request(model, read_json(request.raw_body))


def game_view(game_id: str) -> Response:
    try:
        validate_game_id(game_id)
    except RequestError as error:
        return bad_request(error)
    view = factory.nhl_service().current_prediction(game_id)
    return json_answer(404, {"error": "not_found", "game_id": game_id}) if view is None else json_answer(200, view)


def answer(model: type[PredictRequest], compute: Callable[[PredictRequest], dict[str, Any]]) -> Response:
    try:
        request = _body(model)
    except BadInput as error:
        return bad_request(error)
    try:
        return json_answer(200, compute(request))
    except VersionClash:
        return busy("player stats changing; retry")
