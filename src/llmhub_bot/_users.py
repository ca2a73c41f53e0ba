"""The people who talk to the bot and the admins' decisions: the bot's own use
of the store's `users` table, in portable SQL over `Store.fetch` / `execute`,
so it works on every backend the core has."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from llmhub.store import Store

__all__ = ["UserRecord", "UserStatus", "Users"]

UserStatus = Literal["pending", "approved", "denied"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A person who talked to the bot, and whether they may."""

    id: int
    status: UserStatus
    username: str | None = None
    full_name: str | None = None
    language: str | None = None


class Users:
    """The users table of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, user_id: int) -> UserRecord | None:
        """The user, if known."""
        rows = await self.store.fetch(
            "SELECT id, status, username, full_name, language FROM users WHERE id = :id",
            {"id": user_id},
        )
        return UserRecord(**rows[0]) if rows else None

    async def upsert(self, user: UserRecord) -> None:
        """Insert the user, or update their names and language (their status stays)."""
        now = time.time()
        await self.store.execute(
            "INSERT INTO users (id, status, username, full_name, language, created_at,"
            " updated_at) VALUES (:id, :status, :username, :full_name, :language, :now, :now)"
            " ON CONFLICT (id) DO UPDATE SET username = excluded.username,"
            " full_name = excluded.full_name, language = excluded.language,"
            " updated_at = excluded.updated_at",
            {
                "id": user.id,
                "status": user.status,
                "username": user.username,
                "full_name": user.full_name,
                "language": user.language,
                "now": now,
            },
        )

    async def set_status(self, user_id: int, status: UserStatus) -> None:
        """Approve, deny or reset a user."""
        now = time.time()
        await self.store.execute(
            "INSERT INTO users (id, status, created_at, updated_at) VALUES (:id, :status, :now, :now)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
            " updated_at = excluded.updated_at",
            {"id": user_id, "status": status, "now": now},
        )

    async def forget_names(self, user_id: int) -> None:
        """Drop what identifies the user but their id, which their access decision needs."""
        await self.store.execute(
            "UPDATE users SET username = NULL, full_name = NULL, language = NULL,"
            " updated_at = :now WHERE id = :id",
            {"id": user_id, "now": time.time()},
        )

    async def count(self) -> dict[str, int]:
        """Users by status."""
        rows = await self.store.fetch("SELECT status, COUNT(*) AS n FROM users GROUP BY status")
        return {str(row["status"]): int(row["n"]) for row in rows}
