"""Issue 19 item 2: the custom entity recognizer trained on the PII review manifests is sized by
`POST /estimates/endpoint` from the traffic it would serve — the fields pii_redaction inspects
(services/cost_calculator/README.md, "Sizing the PII recognizer")."""

from __future__ import annotations

from decimal import Decimal

from tests.service.test_cost_calculator_api import client, post  # noqa: F401 - the API fixture

FIELDS = {"Tweet1": 140, "Tweet2": 140}  # PII_FIELDS and their mean characters per record


def recognizer_estimate(client, records_per_minute: int, hours_per_day: float):  # noqa: F811
    return post(client, "/estimates/endpoint", {"characters_per_message": sum(FIELDS.values()),
                                                "messages_per_minute": records_per_minute,
                                                "hours_per_day": hours_per_day})


def test_the_recognizer_endpoint_is_sized_from_the_pii_streams_expected_traffic(client):  # noqa: F811
    # 300 records/min x 280 characters = 1,400 characters/s -> 14 IU (1 IU = 100 characters/s),
    # above the default quota of 10 IU per endpoint; 24 h x 3,600 s x 14 IU x $0.0005 = $604.80.
    answer = recognizer_estimate(client, 300, 24)
    assert answer.status_code == 200, answer.json_body
    body = answer.json_body
    assert body["characters_per_second"] == "1400" and body["inference_units"] == 14
    assert body["billed_seconds"] == 86_400 and Decimal(body["inference_cost"]) == Decimal("604.8")
    assert Decimal(body["total_cost"]) == Decimal("604.8") + Decimal("3") + Decimal("0.5")  # + training, management
    assert any("quota increase to 14" in warning for warning in body["warnings"])


def test_a_quieter_stream_fits_one_endpoint_and_scales_with_traffic(client):  # noqa: F811
    quiet = recognizer_estimate(client, 20, 24).json_body  # 20 x 280 / 60 = 93.3 characters/s
    double = recognizer_estimate(client, 40, 24).json_body  # 186.7 characters/s
    assert (quiet["inference_units"], double["inference_units"]) == (1, 2)
    assert not any("quota" in warning for warning in quiet["warnings"])
    assert Decimal(double["inference_cost"]) == 2 * Decimal(quiet["inference_cost"])
