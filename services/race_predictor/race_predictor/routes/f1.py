"""F1 routes (a Chalice blueprint): POST /races/{race_id}/messages, GET /races/{race_id},
GET /races/{race_id}/battles. Each route is one line; below them, what a route does: parse,
delegate to the F1 service from `factory`, shape the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from pitwall_shared.inputs import BadInput, read_json
from pitwall_shared.observability import observability
from pitwall_shared.refusals import check_json_content_type
from race_predictor import factory
from race_predictor.logic.common.updates import TooMuchContention
from race_predictor.models.f1 import MessageValidationError, parse_batch, validate_race_id
from race_predictor.routes.answers import (
    ANY_CONTENT_TYPE,
    bad_request,
    busy,
    correlation_id,
    current,
    json_answer,
)

logger, _metrics, _tracer = observability("race_predictor")
f1 = Blueprint(__name__)


@f1.route("/races/{race_id}/messages", methods=["POST"], content_types=ANY_CONTENT_TYPE)
def post_race_messages(race_id: str) -> Response:
    return post_messages(race_id)


@f1.route("/races/{race_id}", methods=["GET"], content_types=ANY_CONTENT_TYPE)  # a GET body is never read
def get_race(race_id: str) -> Response:
    return view(race_id, lambda valid: factory.f1_service().race_view(valid))


@f1.route("/races/{race_id}/battles", methods=["GET"], content_types=ANY_CONTENT_TYPE)  # a GET body is never read
def get_race_battles(race_id: str) -> Response:
    return view(race_id, lambda valid: factory.f1_service().battles_view(valid))


# --- what the routes do ---------------------------------------------------------------------------
def post_messages(race_id: str) -> Response:
    request = current(f1.current_request)
    try:
        validate_race_id(race_id)
        check_json_content_type(request.headers)
        batch = parse_batch(read_json(request.raw_body))
    except BadInput as error:
        return bad_request(error)
    try:
        result = factory.f1_service().post_messages(race_id, batch, correlation_id=correlation_id(request))
    except TooMuchContention:
        return busy("race is being updated; retry")
    logger.info("timing messages applied", extra={"race_id": race_id, "accepted": result.accepted,
                                                  "duplicates": len(result.duplicates),
                                                  "predictions": len(result.predictions)})
    return json_answer(200, {"accepted": result.accepted, "duplicates": result.duplicates,
                             "predictions": result.predictions})


def view(race_id: str, read: Callable[[str], dict[str, Any] | None]) -> Response:
    try:
        validate_race_id(race_id)
    except MessageValidationError as error:
        return bad_request(error)
    found = read(race_id)
    return json_answer(404, {"error": "not_found", "race_id": race_id}) if found is None else json_answer(200, found)
