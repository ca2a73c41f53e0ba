"""What the bot's processes share while they work, behind one small interface
(in the manner of aiogram's `BaseStorage` / `BaseEventIsolation`).

Everything a chat's answer depends on that must hold across replicas lives
here: which updates were seen, each chat's queue of messages waiting, which
process answers a chat now (a lease), per-user rate limits, the stop button,
and Telegram's flood waits. `MemoryState` keeps it in one process;
`RedisState` shares it between replicas. Both pass `tests/bot/test_state.py`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

__all__ = ["Admission", "BotState", "QueuedUpdate"]

#: What `push` did with an update.
Admission = Literal["queued", "duplicate", "full"]


@dataclass(frozen=True, slots=True)
class QueuedUpdate:
    """An update waiting in its chat's queue, as Telegram sent it (JSON)."""

    update_id: int
    payload: str


class BotState(ABC):
    """Shared state of every process running one bot."""

    # -- updates ------------------------------------------------------------------

    @abstractmethod
    async def first_sight(self, update_id: int) -> bool:
        """True the first time an update id is offered, False for a repeated delivery.

        Telegram keeps an update for up to a day, so ids are remembered that long.
        """

    @abstractmethod
    async def push(self, chat_id: int, update: QueuedUpdate, limit: int) -> Admission:
        """Queue an update for its chat, in one step with `first_sight`'s memory:
        "duplicate" for an update id seen before, "full" (nothing queued) when
        `limit` updates wait already, else "queued"."""

    @abstractmethod
    async def peek(self, chat_id: int) -> QueuedUpdate | None:
        """The chat's oldest waiting update (by update id), left in the queue."""

    @abstractmethod
    async def done(self, chat_id: int, update_id: int) -> None:
        """Remove an answered update from its chat's queue."""

    @abstractmethod
    async def waiting(self, chat_id: int) -> int:
        """How many updates wait in the chat's queue."""

    @abstractmethod
    async def pending_chats(self) -> list[int]:
        """Chats with updates waiting (for taking over a dead process's chats)."""

    # -- who answers a chat --------------------------------------------------------

    @abstractmethod
    async def lease(self, chat_id: int, owner: str, ttl: float) -> bool:
        """Take the chat for `owner` for `ttl` seconds, or extend it if `owner` holds it.

        False while another owner holds it. A lease that is not extended runs out,
        so a process that dies frees its chats by itself.
        """

    @abstractmethod
    async def extend(self, chat_ids: list[int], owner: str, ttl: float) -> list[int]:
        """Extend every lease `owner` holds among `chat_ids` in one step; the chats
        whose lease it no longer holds (it ran out and another took it) are returned."""

    @abstractmethod
    async def release(self, chat_id: int, owner: str) -> None:
        """Give the chat back, if `owner` still holds it."""

    # -- limits ----------------------------------------------------------------------

    @abstractmethod
    async def allow(self, user_id: int, per_minute: int) -> bool:
        """Whether the user may send one more message in this sliding minute (counted if so)."""

    @abstractmethod
    async def set_flood_wait(self, chat_id: int, seconds: float) -> None:
        """Telegram asked to wait before writing to the chat again."""

    @abstractmethod
    async def flood_wait(self, chat_id: int) -> float:
        """Seconds still to wait before writing to the chat (0 when none)."""

    # -- the stop button ----------------------------------------------------------------

    @abstractmethod
    async def request_stop(self, chat_id: int, update_id: int) -> None:
        """Ask whichever process answers `update_id` in the chat to stop that answer."""

    @abstractmethod
    async def take_stops(self, chat_ids: list[int]) -> dict[int, int]:
        """The stops asked among `chat_ids`, chat -> the update to stop (requests cleared)."""

    # -- short-lived notes -----------------------------------------------------------------

    @abstractmethod
    async def put_note(self, key: str, text: str, ttl: float) -> None:
        """Keep `text` under `key` for `ttl` seconds, for whichever process asks next
        (an inline question until its "answer" button is pressed)."""

    @abstractmethod
    async def get_note(self, key: str) -> str | None:
        """The text kept under `key`, if it has not expired."""

    # -- lifecycle ------------------------------------------------------------------------

    @abstractmethod
    async def ping(self) -> bool:
        """Whether the state answers."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release connections."""
