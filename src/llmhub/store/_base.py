"""The interface every store backend implements (SQLite now, PostgreSQL later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from ._records import (
    ContextInfo,
    Exchange,
    ProviderStats,
    RequestRecord,
    ResponseRecord,
    Turn,
    UserRecord,
    UserStatus,
)

__all__ = ["Store"]


class Store(ABC):
    """Where requests and responses are logged, and per-chat state kept.

    Writes may be grouped: `log_request` returns once the row is queued, in
    order; `log_response` returns once the response row (and so every row
    queued before it) is durable. A backend must never lose a queued row.
    """

    @abstractmethod
    async def open(self) -> None:
        """Connect, and create or migrate the schema."""

    @abstractmethod
    async def close(self) -> None:
        """Write what is queued and disconnect."""

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the log ------------------------------------------------------------------

    @abstractmethod
    async def log_request(self, record: RequestRecord) -> None:
        """Queue a request row."""

    @abstractmethod
    async def log_response(self, record: ResponseRecord) -> None:
        """Write a response row; returns when it is durable."""

    @abstractmethod
    async def recent_exchanges(self, limit: int = 20, chat_id: str | None = None) -> list[Exchange]:
        """The latest requests with their responses, newest first."""

    # -- chats ----------------------------------------------------------------------

    @abstractmethod
    async def recent_turns(self, chat_id: str, max_turns: int, max_chars: int) -> list[Turn]:
        """The chat's latest successful exchanges since its context was reset, oldest
        first, at most `max_turns` of them and `max_chars` characters together."""

    @abstractmethod
    async def reset_context(self, chat_id: str) -> None:
        """Start the chat's context afresh; earlier rows stay in the log."""

    @abstractmethod
    async def context_info(self, chat_id: str, max_turns: int, max_chars: int) -> ContextInfo:
        """How many turns and characters the chat's next request will carry."""

    @abstractmethod
    async def chat_model(self, chat_id: str) -> str | None:
        """The model chosen for the chat, if any."""

    @abstractmethod
    async def set_chat_model(self, chat_id: str, model: str | None) -> None:
        """Choose the chat's model (`None` goes back to the default)."""

    # -- models and users ------------------------------------------------------------

    @abstractmethod
    async def record_models(self, provider: str, models: Iterable[str]) -> None:
        """Note that `provider` offered `models` now."""

    @abstractmethod
    async def known_models(self) -> dict[str, list[str]]:
        """Models seen before, by provider."""

    @abstractmethod
    async def get_user(self, user_id: int) -> UserRecord | None:
        """The user, if known."""

    @abstractmethod
    async def upsert_user(self, user: UserRecord) -> None:
        """Insert the user or update their names, language and status."""

    @abstractmethod
    async def set_user_status(self, user_id: int, status: UserStatus) -> None:
        """Approve, deny or reset a user."""

    @abstractmethod
    async def count_users(self) -> dict[str, int]:
        """Users by status."""

    @abstractmethod
    async def provider_stats(self, since: float) -> list[ProviderStats]:
        """Requests, errors and tokens per provider since a Unix time."""

    @abstractmethod
    async def ping(self) -> bool:
        """Whether the store answers."""
