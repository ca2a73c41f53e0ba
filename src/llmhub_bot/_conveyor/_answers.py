"""The answers under way in this process, one per chat at most: what the stop
button and a hand-over cancel."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Answers"]


class Answers:
    """Each chat's answer task, and the update it answers.

    A cancelled answer tells a stop from a hand-over (shutdown, a lost lease: another
    process answers the chat) by `handing_over`, a set of chat ids the conveyor shares
    with the handlers: a handed-over answer is neither marked stopped nor counted so.
    """

    def __init__(self, handing_over: set[int]) -> None:
        self.handing_over = handing_over
        self._tasks: dict[int, tuple[int, asyncio.Task[Any]]] = {}

    def __contains__(self, chat_id: object) -> bool:
        return chat_id in self._tasks

    def chats(self) -> list[int]:
        return list(self._tasks)

    def started(self, chat_id: int, update_id: int, task: asyncio.Task[Any]) -> None:
        self._tasks[chat_id] = (update_id, task)

    def ended(self, chat_id: int) -> None:
        self._tasks.pop(chat_id, None)
        self.handing_over.discard(chat_id)

    def stop(self, chat_id: int, update_id: int | None = None) -> None:
        """Cancel the chat's answer (only if it answers `update_id`, when given: a stop
        pressed for an answer that has ended stops nothing later)."""
        running = self._tasks.get(chat_id)
        if running is not None and update_id in (None, running[0]):
            running[1].cancel()

    def hand_over(self, chat_id: int) -> None:
        """Cancel the chat's answer for another process to give."""
        if chat_id in self._tasks:
            self.handing_over.add(chat_id)
            self._tasks[chat_id][1].cancel()

    def hand_over_all(self) -> None:
        for chat_id in list(self._tasks):
            self.hand_over(chat_id)
