"""Settings, from the environment and a `.env` file (pydantic-settings).

This module imports pydantic; it is loaded when a hub is built, not at
`import llmhub`, so that importing the library stays light.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["HubSettings", "load_environment"]


class HubSettings(BaseSettings):
    """The core's settings; each is read from `LLMHUB_<NAME>`."""

    model_config = SettingsConfigDict(
        env_prefix="LLMHUB_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///llmhub.db"
    default_model: str | None = None
    max_prompt_chars: int = Field(default=32_000, gt=0)
    context_turns: int = Field(default=20, ge=0)
    context_chars: int = Field(default=24_000, ge=0)
    list_models_timeout: float = Field(default=10.0, gt=0)
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL", "EXTRA"] = "NORMAL"


def load_environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """The process environment over the values of `env_file` (if it exists).

    Providers read their keys from this mapping, so a `.env` file works for
    them exactly as it does for `HubSettings`, without writing to `os.environ`.
    """
    merged: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def settings_from(env: Mapping[str, str]) -> HubSettings:
    """`HubSettings` read from one mapping (what `load_environment` returns)."""
    prefix = "LLMHUB_"
    values = {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}
    # model_validate reads only `values` (already the environment over `.env`).
    return HubSettings.model_validate(values)
