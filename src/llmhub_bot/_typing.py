""" "typing…" in a chat from the moment its message is taken up until the answer's
first words show, so a user never looks at silence while a model connects,
queues or reasons.

Telegram shows a chat action for about 5 seconds, or until the bot's next
message: it is sent again every 4 seconds. It is a courtesy: a Bot API server
that refuses it (or a flood wait) stops the indicator, never the answer.
aiogram's `ChatActionSender` does the same loop but lets a refused call end its
task with an exception nobody retrieves; this one says so in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError

if TYPE_CHECKING:
    from aiogram import Bot

__all__ = ["Typing"]

log = logging.getLogger("llmhub_bot.typing")

#: Seconds between renewals: under Telegram's 5 s display, so it never blinks off.
RENEW_EVERY = 4.0
#: Seconds `stop()` waits for a chat action already on its way.
STOP_WAIT = 1.0


class Typing:
    """`async with Typing(bot, chat_id):` shows "typing…" until `await stop()` or the
    block's end."""

    def __init__(self, bot: Bot, chat_id: int | None, thread_id: int | None = None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.thread_id = thread_id
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Typing:
        if self.chat_id is not None:  # None: no chat to show it in (an inline message)
            self._task = asyncio.create_task(self._show(), name=f"llmhub-typing-{self.chat_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _show(self) -> None:
        assert self.chat_id is not None
        try:
            while not self._stopped.is_set():
                await self.bot.send_chat_action(
                    self.chat_id, "typing", message_thread_id=self.thread_id
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), RENEW_EVERY)
        except TelegramAPIError as exc:
            log.info("typing refused in chat %s: %s", self.chat_id, exc.message)

    async def stop(self) -> None:
        """No more "typing…": returns once the chat action on its way, if any, has
        arrived (not cut midway: a cancelled call could leave a shared connection,
        Redis's for the flood control, in a state the next caller trips on)."""
        self._stopped.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT)
        except TimeoutError:  # a Bot API server that does not answer: stop waiting
            task.cancel()
