"""Environment variables parsed once into a typed settings object.

A missing or malformed variable fails at cold start with a message that names the variable, so a
wrong deployment is caught by the first invocation rather than by the first unlucky record.

Example::

    class Settings(ServiceSettings):
        table_name: str
        batch_size: int = 10

    SETTINGS = load_settings(Settings)      # reads TABLE_NAME, BATCH_SIZE
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """The function's environment does not hold a valid configuration."""


class ServiceSettings(BaseSettings):
    """Base of every service's settings: field `table_name` reads variable `TABLE_NAME`."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)


S = TypeVar("S", bound=ServiceSettings)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `model` from the environment (or `environ`), naming every bad variable on failure.

    >>> class Example(ServiceSettings):
    ...     retries: int
    >>> load_settings(Example, {"RETRIES": "3"}).retries
    3
    """
    try:
        if environ is None:
            return model()
        values = {name: environ[name.upper()] for name in model.model_fields if name.upper() in environ}
        return model.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            variable = str(item["loc"][0]).upper() if item["loc"] else "?"
            problems.append(f"{variable}: {item['msg']}")
        raise SettingsError(f"invalid environment for {model.__name__}: " + "; ".join(problems)) from None
