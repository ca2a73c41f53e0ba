"""A chat's messages, answered one at a time in the order sent, by whichever
process holds the chat, and none lost when a process dies.

The conveyor is an outer middleware on every update, made of small pieces:

- `Admission` (`_admission`): what happens to an update as it arrives: queued in its
  chat (messages, and the buttons the app names), or handled at once;
- `ChatWorkers` (`_workers`): one worker per chat this process answers, holding the
  chat's lease, feeding its queue to the dispatcher in order;
- `LeaseKeeper` (`_keeper`): extends the leases, hands over answers whose lease was
  lost, and carries the stop button to the answer it was pressed for;
- `Sweeper` (`_sweeper`): gives the chats left waiting (a dead process's) to a worker;
- `Answers` (`_answers`): the answers under way, which a stop or a hand-over cancels;
- shutdown (`Conveyor.drain`): stop taking chats, let answers finish for a grace
  period, hand the rest back to the queue for another process.

A process that dies stops extending its leases; after they run out another
process's sweep finds the chats still pending and answers what was left, under the
same request ids, so the store keeps one pair of rows per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import TelegramObject, Update

from .._metrics import Metrics
from .._runtime import Handler
from .._settings import BotSettings
from .._state import BotState, QueuedUpdate
from ._admission import Admission
from ._answers import Answers
from ._keeper import LeaseKeeper
from ._sweeper import Sweeper
from ._workers import ChatWorkers

__all__ = ["CONVEYED", "Conveyor"]

#: Set in the dispatcher's data for updates fed from a chat's queue.
CONVEYED = "llmhub_conveyed"


class Conveyor(BaseMiddleware):
    """Per-chat queues and leases in `BotState`, and the tasks that answer them.

    `queued_buttons`: the callback-data prefixes answered through the chat's queue,
    after any answer under way, like messages; `queued_commands`: the commands that are
    (those that ask a model), the others being answered at once. `handing_over`: a set the conveyor puts
    a chat's id in while it cancels the chat's answer for another process to give
    (shared with the handlers, which then neither mark it stopped nor count it so).
    """

    def __init__(
        self,
        state: BotState,
        settings: BotSettings,
        owner: str | None = None,
        metrics: Metrics | None = None,
        *,
        queued_buttons: frozenset[str] = frozenset(),
        queued_commands: frozenset[str] = frozenset(),
        handing_over: set[int] | None = None,
    ) -> None:
        self.state = state
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._bot: Bot | None = None
        self._dispatcher: Dispatcher | None = None
        self.answers = Answers(handing_over if handing_over is not None else set())
        self.workers = ChatWorkers(
            state, self.owner, settings.bot_chat_lease_seconds, self.answers, self._feed
        )
        self.admission = Admission(
            state, settings, self.workers, queued_buttons, self.stop, queued_commands
        )
        self._background: list[asyncio.Task[None]] = []
        self.metrics = metrics

    @property
    def metrics(self) -> Metrics | None:
        return self._metrics

    @metrics.setter
    def metrics(self, metrics: Metrics | None) -> None:
        self._metrics = self.workers.metrics = self.admission.metrics = metrics

    @property
    def accepting(self) -> bool:
        """Whether updates are taken and chats answered (off while shutting down)."""
        return self.workers.accepting

    @accepting.setter
    def accepting(self, value: bool) -> None:
        self.workers.accepting = value

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get(CONVEYED) or not isinstance(event, Update):
            return await handler(event, data)
        self._bot, self._dispatcher = data["bot"], data["dispatcher"]
        return await self.admission.admit(handler, event, data)

    async def _feed(self, item: QueuedUpdate) -> Any:
        bot, dispatcher = self._bot, self._dispatcher
        assert bot is not None
        assert dispatcher is not None
        update = Update.model_validate_json(item.payload, context={"bot": bot})
        return await dispatcher.feed_update(bot, update, **{CONVEYED: True})

    async def stop(self, chat_id: int) -> bool:
        """The stop button: cancel the chat's answer here, or ask its owner to; whether
        there was one to stop.

        The answer under way is always the head of the chat's queue (an update
        leaves it only once answered), so the stop names that update: pressed
        when nothing is answered, it stops nothing later.
        """
        if chat_id in self.answers:
            self.answers.stop(chat_id)
            return True
        head = await self.state.peek(chat_id)
        if head is not None:
            await self.state.request_stop(chat_id, head.update_id)
        return head is not None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, bot: Bot, dispatcher: Dispatcher) -> None:
        """Begin sweeping for chats left waiting and keeping the leases."""
        self._bot, self._dispatcher = bot, dispatcher
        self.accepting = True
        if not self._background:
            self._background = [
                asyncio.create_task(Sweeper(self.state, self.workers).run(), name="llmhub-sweep"),
                asyncio.create_task(
                    LeaseKeeper(self.state, self.workers, self.answers).run(),
                    name="llmhub-leases",
                ),
            ]

    async def drain(self, grace: float) -> int:
        """Shutdown: stop taking chats; let answers under way finish for up to `grace`
        seconds, then hand the rest back to their queues for another process. Returns
        how many chats were handed back."""
        self.accepting = False
        try:
            return await self.workers.finish(grace)
        finally:
            background, self._background = self._background, []
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def depth(self) -> tuple[int, int]:
        """(updates waiting, chats) of the chats this process answers now."""
        return await self.workers.depth()

    @property
    def busy(self) -> int:
        """Chats this process is answering now."""
        return len(self.workers.tasks)
