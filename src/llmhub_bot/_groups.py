"""Groups let in as a whole: the bot's `access_groups` table, in portable SQL over
`Store.fetch` / `execute`, like `_users`.

A group's first unknown member who addresses the bot asks for the whole group
(one request per group, however many members write meanwhile); once an admin
approves it, its members need no approval of their own, until it is revoked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from llmhub.store import Store

from ._users import UserStatus

__all__ = ["GroupRecord", "Groups"]

#: `Store.execute_exclusive`'s key for the first request of a group.
_REQUEST_KEY = 0x6C6D6867  # "lmhg"


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """A group, whether its members may talk to the bot, and who asked first."""

    id: int
    status: UserStatus
    title: str | None = None
    asked_by: int | None = None
    #: The asker's language: the group hears the verdict in it.
    language: str | None = None


class Groups:
    """The access_groups table of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self, chat_id: int) -> GroupRecord | None:
        rows = await self.store.fetch(
            "SELECT id, status, title, asked_by, language FROM access_groups WHERE id = :id",
            {"id": chat_id},
        )
        return GroupRecord(**rows[0]) if rows else None

    async def request(
        self, chat_id: int, title: str | None, asked_by: int, language: str | None
    ) -> bool:
        """Note the group's request; whether this one is its first (the admins are asked
        once per group, even when two members write at the same moment)."""
        now = time.time()
        rows = await self.store.execute_exclusive(
            _REQUEST_KEY,
            "INSERT INTO access_groups (id, status, title, asked_by, language, created_at,"
            " updated_at) VALUES (:id, 'pending', :title, :asked_by, :language, :now, :now)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            {
                "id": chat_id,
                "title": title,
                "asked_by": asked_by,
                "language": language,
                "now": now,
            },
        )
        return bool(rows)

    async def set_status(self, chat_id: int, status: UserStatus, title: str | None = None) -> None:
        """Approve, revoke (deny) or reset a group."""
        now = time.time()
        await self.store.execute(
            "INSERT INTO access_groups (id, status, title, created_at, updated_at)"
            " VALUES (:id, :status, :title, :now, :now)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
            " title = COALESCE(excluded.title, access_groups.title),"
            " updated_at = excluded.updated_at",
            {"id": chat_id, "status": status, "title": title, "now": now},
        )
