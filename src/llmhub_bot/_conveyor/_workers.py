"""The per-chat workers: one task per chat this process answers.

Holding the chat's lease, a worker feeds the chat's queued updates to the
dispatcher one after another, oldest first, each one's answer logged before the
next begins (so each sees the ones before it in its context). An update leaves the
queue only once answered. A worker whose lease is lost stops after the answer under
way (which is handed over); another process answers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .._metrics import Metrics
from .._state import BotState, QueuedUpdate
from ._answers import Answers

__all__ = ["ChatWorkers"]

log = logging.getLogger("llmhub_bot.conveyor")

_DONE_RETRY_FIRST = 0.1
_DONE_RETRY_MAX = 2.0

#: Feeds one queued update to the dispatcher (the conveyor's, once started).
Feed = Callable[[QueuedUpdate], Coroutine[Any, Any, Any]]


@dataclass
class ChatWorkers:
    """The workers of this process, and the leases they hold."""

    state: BotState
    owner: str
    lease_ttl: float
    answers: Answers
    feed: Feed
    metrics: Metrics | None = None
    #: Whether workers take chats and updates (off while shutting down).
    accepting: bool = True
    #: The chats whose lease this process holds now.
    leased: set[int] = field(default_factory=set)
    #: The chats whose lease ran out under a worker (its keeper found it taken).
    lost: set[int] = field(default_factory=set)
    #: Each chat's worker task.
    tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)

    def kick(self, chat_id: int) -> None:
        """Answer the chat's queue here, unless a worker of this process does so already."""
        if chat_id not in self.tasks:
            self.tasks[chat_id] = asyncio.create_task(
                self._work(chat_id), name=f"llmhub-chat-{chat_id}"
            )

    async def _work(self, chat_id: int) -> None:
        try:
            while self.accepting:
                if not await self.state.lease(chat_id, self.owner, self.lease_ttl):
                    return  # another process answers this chat; it will see the new message
                self.leased.add(chat_id)
                self.lost.discard(chat_id)
                try:
                    while self.accepting and (item := await self.state.peek(chat_id)):
                        if not await self._answer(chat_id, item):
                            return
                        await self._mark_done(chat_id, item.update_id)
                finally:
                    self.leased.discard(chat_id)
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self.state.release(chat_id, self.owner))
                # A message may have arrived while the lease was being given back.
                if not await self.state.waiting(chat_id):
                    return
        except Exception:
            log.exception("chat %s: answering its queue failed; another sweep will retry", chat_id)
        finally:
            self.tasks.pop(chat_id, None)

    async def _answer(self, chat_id: int, item: QueuedUpdate) -> bool:
        """Feed one update to the dispatcher; False if the chat's lease was lost meanwhile."""
        task: asyncio.Task[Any] = asyncio.create_task(self.feed(item))
        self.answers.started(chat_id, item.update_id, task)
        try:
            await asyncio.wait([task])
        finally:
            self.answers.ended(chat_id)
        if chat_id in self.lost:
            self.lost.discard(chat_id)
            return False
        if task.cancelled():
            return self.accepting  # stopped by the user (done), or shutting down (hand back)
        if task.exception() is not None:
            log.error("update %s failed", item.update_id, exc_info=task.exception())
        if self.metrics is not None:
            self.metrics.answered()
        return True

    async def _mark_done(self, chat_id: int, update_id: int) -> None:
        """Take the answered update off its queue, waiting out a Redis outage.

        Giving up here would leave it queued, and a sweep would answer it again
        once Redis is back: the user would read the answer twice. The lease is not
        extended while Redis is away either, so no other process takes the chat
        meanwhile (unless the outage outlasts the lease, and then what it sends is
        the answer already logged, not a second model call).
        """
        delay = _DONE_RETRY_FIRST
        while True:
            try:
                await self.state.done(chat_id, update_id)
                return
            except Exception as exc:
                if delay == _DONE_RETRY_FIRST:
                    log.warning(
                        "chat %s: update %s answered but not yet marked so (%s); retrying",
                        chat_id,
                        update_id,
                        exc,
                    )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _DONE_RETRY_MAX)

    async def finish(self, grace: float) -> int:
        """Shutdown: let the workers end within `grace` seconds, hand the answers still
        running back to the queue, and wait for the workers to stop. How many chats
        were still being answered."""
        tasks = list(self.tasks.values())
        if not tasks:
            return 0
        _, late = await asyncio.wait(tasks, timeout=grace)
        self.answers.hand_over_all()
        if late:
            _, stuck = await asyncio.wait(late, timeout=5.0)
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck)
            log.warning("shutdown: %d chats still answering were handed back", len(late))
        return len(late)

    async def depth(self) -> tuple[int, int]:
        """(updates waiting, chats) of the chats this process answers now."""
        chats = list(self.leased)
        waiting = 0
        for chat_id in chats:
            with contextlib.suppress(Exception):  # a scrape must not fail on a Redis blip
                waiting += await self.state.waiting(chat_id)
        return waiting, len(chats)
