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

import contextvars
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

# The environment `load_settings` reads: os.environ unless a mapping was passed (tests, tools).
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping given to `load_settings`."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        environ = _ENVIRON.get()
        if environ is None:
            return super()._load_env_vars()
        return {name.lower(): value for name, value in environ.items()}


class SettingsError(RuntimeError):
    """The function's environment does not hold a valid configuration."""


class ServiceSettings(BaseSettings):
    """Base of every service's settings: field `table_name` reads variable `TABLE_NAME`."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], *args: Any,
                                   **kwargs: Any) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only the environment: no dotenv or secrets files inside a Lambda function.
        return (_MappingEnvSource(settings_cls),)


S = TypeVar("S", bound=ServiceSettings)


def load_settings(model: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `model` from the environment (or `environ`), naming every bad variable on failure.

    >>> class Example(ServiceSettings):
    ...     retries: int
    >>> load_settings(Example, {"RETRIES": "3"}).retries
    3
    """
    token = _ENVIRON.set(environ)
    try:
        return model()
    except ValidationError as error:
        problems = []
        for item in error.errors():
            variable = str(item["loc"][0]).upper() if item["loc"] else "?"
            problems.append(f"{variable}: {item['msg']}")
        raise SettingsError(f"invalid environment for {model.__name__}: " + "; ".join(problems)) from None
    finally:
        _ENVIRON.reset(token)
