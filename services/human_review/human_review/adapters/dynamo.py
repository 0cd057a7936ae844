"""DynamoDB attribute (de)serialisation shared by the loops table and the state table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(item) for item in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(item) for item in value]
    return value


def serialise(item: dict[str, Any]) -> dict[str, Any]:
    """Plain dict → DynamoDB attribute map (None values dropped: absent means unknown)."""
    return {key: _serializer.serialize(_to_dynamo(value)) for key, value in item.items() if value is not None}


def deserialise(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute map → plain dict with ints and floats."""
    return {key: _from_dynamo(_deserializer.deserialize(value)) for key, value in item.items()}


def value(python_value: Any) -> dict[str, Any]:
    """One attribute value for expressions."""
    return _serializer.serialize(_to_dynamo(python_value))
