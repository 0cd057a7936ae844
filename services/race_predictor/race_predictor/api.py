"""HTTP API of race_predictor (Chalice; one function behind API Gateway, one `Api` event per route).

F1 routes: POST /races/{race_id}/messages, GET /races/{race_id}, GET /races/{race_id}/battles.
Each route only parses, delegates to `f1/service.py` and shapes the answer. The NHL face-off
routes join this same app.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from chalice import Chalice, Response

from pitwall_shared.events import EventPublisher
from pitwall_shared.observability import observability
from pitwall_shared.settings import load_settings
from race_predictor.common.adapters.dynamodb import DynamoPublishLedger, DynamoStateStore
from race_predictor.common.settings import RacePredictorSettings
from race_predictor.common.updates import TooMuchContention
from race_predictor.f1.messages import MessageValidationError, parse_batch, validate_race_id
from race_predictor.f1.predictor import OnnxPitBattlePredictor
from race_predictor.f1.service import F1Service

logger, metrics, tracer = observability("race_predictor")
app = Chalice(app_name="race_predictor", configure_logs=False)

# Loaded at import, i.e. in Lambda's init phase, so the first request does not pay for it.
F1_PREDICTOR = OnnxPitBattlePredictor.load()


@functools.cache
def f1_service() -> F1Service:
    """The process's F1 service, built on first use (tests monkeypatch this function)."""
    settings = load_settings(RacePredictorSettings)
    return F1Service(
        store=DynamoStateStore(settings.race_state_table_name),
        ledger=DynamoPublishLedger(settings.race_state_table_name),
        publisher=EventPublisher(source="pitwall.race_predictor", bus_name=settings.event_bus_name),
        predictor=F1_PREDICTOR,
        on_publish_error=lambda error: logger.warning("prediction publish failed; left in outbox",
                                                      extra={"error": type(error).__name__}),
    )


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status,
                    headers={"Content-Type": "application/json"})


def _bad_request(problems: list[str]) -> Response:
    return _json(400, {"error": "invalid_request", "problems": problems})


def _request() -> Any:
    request = app.current_request
    assert request is not None, "only called inside a route"
    return request


def _correlation_id() -> str | None:
    request = _request()
    headers = request.headers or {}
    return headers.get("x-correlation-id") or (request.context or {}).get("requestId")


@app.route("/races/{race_id}/messages", methods=["POST"], content_types=["application/json"])
def post_race_messages(race_id: str) -> Response:
    try:
        validate_race_id(race_id)
        raw = _request().raw_body
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            raise MessageValidationError(["body: not valid JSON"]) from None
        batch = parse_batch(body)
    except MessageValidationError as error:
        return _bad_request(error.problems)
    try:
        result = f1_service().post_messages(race_id, batch, correlation_id=_correlation_id())
    except TooMuchContention:
        return Response(body=json.dumps({"error": "busy", "detail": "race is being updated; retry"}),
                        status_code=503, headers={"Content-Type": "application/json", "Retry-After": "1"})
    logger.info("timing messages applied", extra={"race_id": race_id, "accepted": result.accepted,
                                                  "duplicates": len(result.duplicates),
                                                  "predictions": len(result.predictions)})
    return _json(200, {"accepted": result.accepted, "duplicates": result.duplicates,
                       "predictions": result.predictions})


@app.route("/races/{race_id}", methods=["GET"])
def get_race(race_id: str) -> Response:
    try:
        validate_race_id(race_id)
    except MessageValidationError as error:
        return _bad_request(error.problems)
    view = f1_service().race_view(race_id)
    return _json(404, {"error": "not_found", "race_id": race_id}) if view is None else _json(200, view)


@app.route("/races/{race_id}/battles", methods=["GET"])
def get_race_battles(race_id: str) -> Response:
    try:
        validate_race_id(race_id)
    except MessageValidationError as error:
        return _bad_request(error.problems)
    view = f1_service().battles_view(race_id)
    return _json(404, {"error": "not_found", "race_id": race_id}) if view is None else _json(200, view)


# --- NHL face-off routes (issue 5; logic in race_predictor/nhl/) ----------------------------------
from race_predictor.nhl.requests import (  # noqa: E402
    PredictRequest,
    RequestError,
    ResultRequest,
    parse_request,
    validate_game_id,
)
from race_predictor.nhl.stats import VersionClash  # noqa: E402
from race_predictor.nhl.stream import faceoff_model, nhl_service  # noqa: E402

faceoff_model()  # init phase, like the F1 model


def _nhl_body(model: type[PredictRequest]) -> PredictRequest:
    raw = _request().raw_body
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise RequestError(["body: not valid JSON"]) from None
    return parse_request(model, body)


@app.route("/games/{game_id}/faceoff", methods=["GET"])
def get_game_faceoff(game_id: str) -> Response:
    try:
        validate_game_id(game_id)
    except RequestError as error:
        return _bad_request(error.problems)
    view = nhl_service().current_prediction(game_id)
    return _json(404, {"error": "not_found", "game_id": game_id}) if view is None else _json(200, view)


@app.route("/faceoffs/predict", methods=["POST"], content_types=["application/json"])
def post_faceoff_predict() -> Response:
    try:
        request = _nhl_body(PredictRequest)
    except RequestError as error:
        return _bad_request(error.problems)
    return _json(200, nhl_service().predict(request))


@app.route("/faceoffs/results", methods=["POST"], content_types=["application/json"])
def post_faceoff_result() -> Response:
    try:
        request = _nhl_body(ResultRequest)
    except RequestError as error:
        return _bad_request(error.problems)
    try:
        outcome = nhl_service().record_result(request)  # type: ignore[arg-type]
    except VersionClash:
        return Response(body=json.dumps({"error": "busy", "detail": "player stats changing; retry"}),
                        status_code=503, headers={"Content-Type": "application/json", "Retry-After": "1"})
    return _json(200, outcome)
# --- end NHL -------------------------------------------------------------------------------------
