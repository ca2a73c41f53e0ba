"""Settings: one way to read them, one typed model per package.

Everything starts from one mapping, `load_environment()`: the process
environment over a `.env` file. The core's `HubSettings`, the bot's
`BotSettings` and the providers' own variables are all read from that mapping
(`read_settings`), so a value means the same wherever it is read, and an empty
line in `.env` (`LLMHUB_DEFAULT_MODEL=`) means "unset", as in `.env.example`.

This module imports pydantic; `llmhub` loads it when a hub is built, never at
`import llmhub`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from dotenv import dotenv_values
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ._retry import HttpTimeouts, RetryPolicy

__all__ = ["HubSettings", "env_names", "load_environment", "read_settings"]

S = TypeVar("S", bound=BaseSettings)


class HubSettings(BaseSettings):
    """The core's settings; each is read from `LLMHUB_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="LLMHUB_", extra="ignore", frozen=True, env_ignore_empty=True
    )

    #: Where requests and responses are logged: sqlite:///file.db or postgresql://…
    database_url: str = "sqlite:///llmhub.db"
    #: Model of chats that chose none (default: the first one a provider lists).
    default_model: str | None = None
    #: Longest prompt accepted, in characters.
    max_prompt_chars: int = Field(default=32_000, gt=0)
    #: The most bytes one reply may take (a stream's events, a whole body); past it the
    #: call ends with ReplyTooLongError, what came before logged.
    max_reply_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    #: Earlier turns sent as context, at most, and their characters together.
    context_turns: int = Field(default=20, ge=0)
    context_chars: int = Field(default=24_000, ge=0)
    #: Seconds to wait for one provider's model list.
    list_models_timeout: float = Field(default=10.0, gt=0)
    #: SQLite durability of each logged reply.
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"
    #: Seconds: to connect, between two reads, and for a whole call (streams included).
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=120.0, gt=0)
    timeout: float = Field(default=600.0, gt=0)
    #: Tries after the first for a retryable failure (429, 5xx, timeouts).
    max_retries: int = Field(default=2, ge=0)
    #: The longest wait a 429's Retry-After may ask for; longer, and the call fails
    #: at once (or falls back) instead of waiting.
    max_retry_after: float = Field(default=30.0, ge=0)
    #: Models asked in turn when a model's provider is unavailable: comma-separated.
    fallbacks: Annotated[tuple[str, ...], NoDecode] = ()
    #: Unavailability errors in a row after which a provider is skipped (0: never),
    #: and for how many seconds before one call tries it again.
    breaker_failures: int = Field(default=5, ge=0)
    breaker_cooldown: float = Field(default=30.0, gt=0)
    #: Record prompt and answer text in OpenTelemetry spans (the standard variable).
    otel_capture_content: bool = Field(
        default=False, validation_alias="OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
    )

    @field_validator("fallbacks", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def http_timeouts(self) -> HttpTimeouts:
        """The timeouts handed to every provider."""
        return HttpTimeouts(
            self.connect_timeout, self.read_timeout, self.timeout, self.max_reply_bytes
        )

    def retry_policy(self) -> RetryPolicy:
        """The retry policy handed to every provider."""
        return RetryPolicy(attempts=1 + self.max_retries, max_retry_after=self.max_retry_after)


def load_environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """The process environment over the values of `env_file` (if it exists).

    The one place `.env` is read: settings models and providers all take their
    values from this mapping, without anything written to `os.environ`.
    """
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def env_names(cls: type[BaseSettings]) -> Iterator[tuple[str, str]]:
    """(key, variable) for every field of a settings model: the key it is
    validated under (its alias, else its name), and the variable it is read from."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            yield alias, alias.upper()
        else:
            yield name, f"{prefix}{name}".upper()


def read_settings(cls: type[S], env: Mapping[str, str]) -> S:
    """A settings model read from one mapping (what `load_environment` returns).

    Raises pydantic's `ValidationError` naming the field and the bad value.
    """
    values = {name: env[var] for name, var in env_names(cls) if env.get(var)}
    return cls.model_validate(values)
