"""The bot's settings, read like the core's (`llmhub.read_settings`) from the
environment over `.env`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["BotSettings"]


class BotSettings(BaseSettings):
    """What the bot reads; each field is the variable of the same name in capitals."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, env_ignore_empty=True)

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"  # noqa: S104 - a webhook server listens for Telegram
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    #: Messages a user may send per minute before being asked to slow down.
    bot_rate_limit_per_minute: int = Field(default=20, gt=0)
    #: Seconds between two updates of a reply being streamed (Telegram allows ~1/s/chat).
    bot_stream_interval: float = Field(default=1.0, ge=0)
    #: Largest file accepted from a user, in bytes (Bot API downloads stop at 20 MB).
    bot_max_file_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    #: Messages of one chat waiting for an answer, at most; past it the user is told.
    bot_chat_queue_limit: int = Field(default=10, gt=0)
    #: Seconds a process holds a chat without extending its lease (a dead one's chats
    #: are taken over after this long).
    bot_chat_lease_seconds: float = Field(default=30.0, gt=0)
    #: Seconds a stopping process lets answers under way finish before handing them back.
    bot_shutdown_grace: float = Field(default=25.0, ge=0)
    #: Everyone's default limits per user, per UTC day and month (unset: none); admins
    #: have none, and `/limit` sets a user's own or everyone's in the store.
    bot_limit_tokens_day: int | None = Field(default=None, ge=0)
    bot_limit_tokens_month: int | None = Field(default=None, ge=0)
    bot_limit_usd_day: float | None = Field(default=None, ge=0)
    bot_limit_usd_month: float | None = Field(default=None, ge=0)
    #: Tokens an answer under way holds against a limit, besides its prompt's.
    bot_limit_hold_tokens: int = Field(default=1000, ge=0)
    #: Polling mode: serve Prometheus metrics at /metrics on this port (unset: not
    #: served). Webhook mode serves them on the webhook's own port.
    bot_metrics_port: int | None = None
    bot_metrics_host: str = "0.0.0.0"  # noqa: S104 - scraped from outside the container
    #: The tools the models may call: names of installed `llmhub_bot.tools` entry
    #: points and `module:function` specs, comma-separated; unset: every installed
    #: one; "none": none.
    bot_tools: str | None = None
    #: Addresses and networks the `read_link` tool reads although they are not
    #: public ("127.0.0.1", "10.0.0.0/8"), comma-separated; unset: public ones only.
    bot_read_link_allow: str | None = None
    #: Show a reasoning model's thoughts above its answer, in a collapsed quote (its
    #: last 1,000 characters); off: only "💭 thinking…" while it thinks.
    bot_show_reasoning: bool = False
    #: The model that transcribes a voice message for a chat model that cannot hear
    #: ("mistral/voxtral-mini-latest", "gemini-2.5-flash"); unset: such a voice
    #: message is refused with the models that can hear, one tap away.
    bot_transcribe_model: str | None = None
    #: Redis shared by the bot's replicas (unset: one process, state in memory).
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")
    #: Log lines as "text" (key=value) or "json" (one object per line).
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias="LLMHUB_LOG_FORMAT"
    )

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # Without a scheme aiogram would build URLs holding the token that fail later,
        # in a traceback that prints them.
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("an http:// or https:// URL")
        return value

    @field_validator("admin_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        return value
