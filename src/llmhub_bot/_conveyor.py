"""A chat's messages, answered one at a time in the order sent, by whichever
process holds the chat, and none lost when a process dies.

Admission (an outer middleware on every update, before the webhook's 2xx or as
polling receives it): a repeated `update_id` is dropped; a message for the bot
goes into its chat's queue in `BotState` (bounded: past the bound the user is
told, nothing silently dropped); everything else (buttons, the stop button) is
handled at once. Admission is quick, so Telegram, which sends a chat's next
update only after a 2xx for the previous one, gets its answer at once.

Answering: the process that admitted a message tries to take the chat's lease
and, holding it, feeds the queued updates to the dispatcher one after another,
oldest first, each one's answer logged before the next begins (so each sees the
ones before it in its context). An update leaves the queue only once answered.
The lease is extended while an answer runs; a process that dies stops
extending it, and after it runs out any other process's sweep finds the chat
still pending and answers what was left, under the same request id, so the
store keeps one pair of rows per message.

The stop button reaches the chat's owner wherever it runs: it is noted in
`BotState`, which the owner checks about once a second (at once in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import Message, TelegramObject, Update
from aiogram.utils.i18n import gettext as _

from ._access import is_addressed
from ._answer_buttons import Again, AgainWith, Continue, TryAgain
from ._metrics import Metrics
from ._own_data import ForgetMe
from ._settings import BotSettings
from ._state import BotState, QueuedUpdate

__all__ = ["CONVEYED", "HANDED_OVER", "Conveyor"]


#: The buttons answered through the chat's queue, like messages: those that ask a
#: model, and the confirmation of /forget_me (after any answer under way).
QUEUED = frozenset(
    {
        Again.__prefix__,
        AgainWith.__prefix__,
        Continue.__prefix__,
        TryAgain.__prefix__,
        ForgetMe.__prefix__,
    }
)


def _queued(data: str | None) -> bool:
    return data is not None and data.split(":", 1)[0] in QUEUED


log = logging.getLogger("llmhub_bot.conveyor")

#: Set in the dispatcher's data for updates fed from a chat's queue.
CONVEYED = "llmhub_conveyed"
#: The cancel message of an answer whose chat goes to another process (shutdown,
#: lost lease): not a stop the user asked for.
HANDED_OVER = "llmhub: chat handed over"
_STOP_POLL = 1.0
_DONE_RETRY_FIRST = 0.1
_DONE_RETRY_MAX = 2.0


class Conveyor(BaseMiddleware):
    """Per-chat queues and leases in `BotState`, and the tasks that answer them."""

    def __init__(
        self,
        state: BotState,
        settings: BotSettings,
        owner: str | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_ttl = settings.bot_chat_lease_seconds
        self._bot: Bot | None = None
        self._dispatcher: Dispatcher | None = None
        self._draining: dict[int, asyncio.Task[None]] = {}
        self._answering: dict[int, asyncio.Task[Any]] = {}
        self._answering_update: dict[int, int] = {}
        self._leased: set[int] = set()
        self._lost: set[int] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._keeper: asyncio.Task[None] | None = None
        self.accepting = True

    # -- admission -------------------------------------------------------------------

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get(CONVEYED) or not isinstance(event, Update):
            return await handler(event, data)
        if self.metrics is not None:
            self.metrics.received()
        bot: Bot = data["bot"]
        self._bot, self._dispatcher = bot, data["dispatcher"]
        stopped = event.stopped_message_generation
        if stopped is not None:
            await self.stop(stopped.chat.id)
            return None
        query = event.callback_query
        if query is not None and isinstance(query.message, Message) and _queued(query.data):
            # A button that asks the model, or forgets: in the chat's queue.
            chat = query.message.chat.id
            return await self._admit(event, chat, query.from_user.id, query.message, counted=True)
        message = event.message
        if message is None:
            if not await self.state.first_sight(event.update_id):
                return None
            try:
                return await handler(event, data)
            finally:
                if self.metrics is not None:
                    self.metrics.answered()
        if not is_addressed(message, await bot.me()):
            return None  # group chatter: neither queued nor logged
        user_id = message.from_user.id if message.from_user else message.chat.id
        is_command = (message.text or "").startswith("/")
        return await self._admit(event, message.chat.id, user_id, message, counted=not is_command)

    async def _admit(
        self, update: Update, chat_id: int, user_id: int, message: Message, *, counted: bool
    ) -> None:
        """Queue the update in its chat; `counted` ones are under the per-user rate limit;
        `message` is what a refusal replies to."""
        if counted:
            per_minute = self.settings.bot_rate_limit_per_minute
            if not await self.state.allow(user_id, per_minute):
                await message.reply(
                    _("You are sending messages too fast. Wait a moment."), parse_mode=None
                )
                return
        queued = QueuedUpdate(update.update_id, _payload(update))
        admission = await self.state.push(chat_id, queued, self.settings.bot_chat_queue_limit)
        if admission == "full":
            await message.reply(
                _(
                    "{count} of your messages are still waiting for an answer; send this one "
                    "again once I have answered them."
                ).format(count=self.settings.bot_chat_queue_limit),
                parse_mode=None,
            )
        elif admission == "queued":
            self.kick(chat_id)

    # -- answering ------------------------------------------------------------------------

    def kick(self, chat_id: int) -> None:
        """Answer the chat's queue here, unless this process does so already."""
        if chat_id not in self._draining and self._bot is not None:
            self._draining[chat_id] = asyncio.create_task(
                self._drain(chat_id), name=f"llmhub-chat-{chat_id}"
            )

    async def _drain(self, chat_id: int) -> None:
        try:
            while self.accepting:
                if not await self.state.lease(chat_id, self.owner, self.lease_ttl):
                    return  # another process answers this chat; it will see the new message
                self._leased.add(chat_id)
                self._lost.discard(chat_id)
                try:
                    while self.accepting and (item := await self.state.peek(chat_id)):
                        if not await self._answer(chat_id, item):
                            return
                        await self._mark_done(chat_id, item.update_id)
                finally:
                    self._leased.discard(chat_id)
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self.state.release(chat_id, self.owner))
                # A message may have arrived while the lease was being given back.
                if not await self.state.waiting(chat_id):
                    return
        except Exception:
            log.exception("chat %s: answering its queue failed; another sweep will retry", chat_id)
        finally:
            self._draining.pop(chat_id, None)

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

    async def _answer(self, chat_id: int, item: QueuedUpdate) -> bool:
        """Feed one update to the dispatcher; False if the chat's lease was lost meanwhile."""
        bot, dispatcher = self._bot, self._dispatcher
        assert bot is not None
        assert dispatcher is not None
        update = Update.model_validate_json(item.payload, context={"bot": bot})
        task = asyncio.create_task(dispatcher.feed_update(bot, update, **{CONVEYED: True}))
        self._answering[chat_id] = task
        self._answering_update[chat_id] = item.update_id
        try:
            await asyncio.wait([task])
        finally:
            self._answering.pop(chat_id, None)
            self._answering_update.pop(chat_id, None)
        if chat_id in self._lost:
            self._lost.discard(chat_id)
            return False
        if task.cancelled():
            return self.accepting  # stopped by the user (done), or shutting down (hand back)
        if task.exception() is not None:
            log.error("update %s failed", item.update_id, exc_info=task.exception())
        if self.metrics is not None:
            self.metrics.answered()
        return True

    async def _keep(self) -> None:
        """One loop for the whole process: extend every lease it holds in one round
        trip, and cancel the answers whose stop was asked or whose lease was lost."""
        while True:
            await asyncio.sleep(min(_STOP_POLL, self.lease_ttl / 3))
            try:
                held = list(self._leased)
                for chat_id in await self.state.extend(held, self.owner, self.lease_ttl):
                    log.warning("chat %s: lease lost; leaving it to its new owner", chat_id)
                    self._lost.add(chat_id)
                    self._cancel_answer(chat_id, HANDED_OVER)
                stops = await self.state.take_stops(list(self._answering))
                for chat_id, update_id in stops.items():
                    if self._answering_update.get(chat_id) == update_id:  # not a stale stop
                        self._cancel_answer(chat_id)
            except Exception as exc:  # a Redis blip: the leases have time to spare
                log.warning("extending leases failed: %s", exc)

    def _cancel_answer(self, chat_id: int, why: str | None = None) -> None:
        task = self._answering.get(chat_id)
        if task is not None:
            task.cancel(why)

    async def stop(self, chat_id: int) -> None:
        """The stop button: cancel the chat's answer here, or ask its owner to.

        The answer under way is always the head of the chat's queue (an update
        leaves it only once answered), so the stop names that update: pressed
        when nothing is answered, it stops nothing later.
        """
        if chat_id in self._answering:
            self._cancel_answer(chat_id)
            return
        head = await self.state.peek(chat_id)
        if head is not None:
            await self.state.request_stop(chat_id, head.update_id)

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, bot: Bot, dispatcher: Dispatcher) -> None:
        """Begin sweeping for chats left waiting (a dead process's, or missed kicks)."""
        self._bot, self._dispatcher = bot, dispatcher
        self.accepting = True
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="llmhub-sweep")
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(), name="llmhub-leases")

    async def _sweep(self) -> None:
        while True:
            try:
                for chat_id in await self.state.pending_chats():
                    self.kick(chat_id)
            except Exception as exc:  # a Redis blip: try again next round
                log.warning("sweep failed: %s", exc)
            await asyncio.sleep(max(0.5, self.lease_ttl / 3))

    async def drain(self, grace: float) -> int:
        """Stop taking chats; let answers under way finish for up to `grace` seconds,
        then cancel the rest, which stay queued for another process. Returns how
        many were cancelled."""
        self.accepting = False
        try:
            return await self._finish(grace)
        finally:
            for name in ("_sweeper", "_keeper"):
                task = getattr(self, name)
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    setattr(self, name, None)

    async def _finish(self, grace: float) -> int:
        tasks = list(self._draining.values())
        if not tasks:
            return 0
        _, late = await asyncio.wait(tasks, timeout=grace)
        # Answers still running go back to the queue for another process.
        for answer in list(self._answering.values()):
            answer.cancel(HANDED_OVER)
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
        chats = list(self._leased)
        waiting = 0
        for chat_id in chats:
            with contextlib.suppress(Exception):  # a scrape must not fail on a Redis blip
                waiting += await self.state.waiting(chat_id)
        return waiting, len(chats)

    @property
    def busy(self) -> int:
        """Chats this process is answering now."""
        return len(self._draining)


def _payload(update: Update) -> str:
    """The update as JSON for the queue. Text that is not valid Unicode (a lone
    surrogate, which Telegram relays as sent) cannot be written as UTF-8: such
    characters become U+FFFD, once, logged; the rest of the message is kept and
    answered instead of the update failing for ever."""
    try:
        return update.model_dump_json(exclude_none=True)
    except ValueError:  # pydantic's serialization error is a ValueError
        log.warning("update %s: text that is not valid Unicode repaired", update.update_id)
        data = _repaired(update.model_dump(mode="python", exclude_none=True, by_alias=True))
        return Update.model_validate(data).model_dump_json(exclude_none=True)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _repaired(value: Any) -> Any:
    if isinstance(value, str):  # a pair is one character by now: a surrogate left is lone
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item) for item in value]
    return value
