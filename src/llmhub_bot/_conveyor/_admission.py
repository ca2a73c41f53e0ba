"""Admission: what happens to an update the moment it arrives (before the webhook's
2xx, or as polling receives it), quickly, so that Telegram, which sends a chat's next
update only after a 2xx for the previous one, gets its answer at once.

A repeated `update_id` is dropped; a message for the bot, or a button the app wants
answered in order (`queued_buttons`), goes into its chat's queue in `BotState`
(bounded: past the bound the user is told, nothing silently dropped) and a worker is
kicked; everything else is handled at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import Message, Update
from aiogram.utils.i18n import gettext as _

from .._access import is_addressed
from .._metrics import Metrics
from .._runtime import Handler
from .._settings import BotSettings
from .._state import BotState, QueuedUpdate
from ._payload import payload
from ._workers import ChatWorkers

__all__ = ["Admission"]


@dataclass
class Admission:
    state: BotState
    settings: BotSettings
    workers: ChatWorkers
    #: The callback-data prefixes answered through the chat's queue, like messages.
    queued_buttons: frozenset[str]
    #: The stop button's action (`Conveyor.stop`).
    stop: Callable[[int], Awaitable[bool]]
    #: The commands answered through the chat's queue (those that ask a model); the
    #: others are answered at once, even while the chat's queue waits on a slow answer.
    queued_commands: frozenset[str] = frozenset()
    metrics: Metrics | None = None

    def _queued(self, data: str | None) -> bool:
        return data is not None and data.split(":", 1)[0] in self.queued_buttons

    async def admit(self, handler: Handler, update: Update, data: dict[str, Any]) -> Any:
        if self.metrics is not None:
            self.metrics.received()
        bot: Bot = data["bot"]
        stopped = update.stopped_message_generation
        if stopped is not None:
            await self.stop(stopped.chat.id)
            return None
        query = update.callback_query
        if query is not None and isinstance(query.message, Message) and self._queued(query.data):
            chat = query.message.chat.id
            return await self._queue(update, chat, query.from_user.id, query.message, counted=True)
        message = update.message
        if message is None:
            return await self._at_once(handler, update, data)
        if not is_addressed(message, await bot.me()):
            return None  # group chatter: neither queued nor logged
        command = _command(message.text)
        if command is not None and command not in self.queued_commands:
            return await self._at_once(handler, update, data)
        user_id = message.from_user.id if message.from_user else message.chat.id
        counted = command is None
        return await self._queue(update, message.chat.id, user_id, message, counted=counted)

    async def _at_once(self, handler: Handler, update: Update, data: dict[str, Any]) -> Any:
        """Handle the update now, once (a repeated `update_id` is dropped)."""
        if not await self.state.first_sight(update.update_id):
            return None
        try:
            return await handler(update, data)
        finally:
            if self.metrics is not None:
                self.metrics.answered()

    async def _queue(
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
        queued = QueuedUpdate(update.update_id, payload(update))
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
            self.workers.kick(chat_id)


def _command(text: str | None) -> str | None:
    """The command a message starts with (`/new@my_bot hi` -> "new"), if any."""
    if not text or not text.startswith("/"):
        return None
    return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower() if len(text) > 1 else ""
