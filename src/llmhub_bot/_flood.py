"""Telegram's flood control, waited out instead of dropped, and shared: a wait
Telegram asks for a chat holds for every replica writing to it (`BotState`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

    from ._state import BotState

__all__ = ["RetryAfterMiddleware"]

log = logging.getLogger("llmhub_bot.flood")


class RetryAfterMiddleware(BaseRequestMiddleware):
    """On 429, sleep the `retry_after` Telegram asked for and send again.

    Waits longer than `max_wait` seconds are not waited (Telegram has asked for
    thousands of seconds before): the error goes up so the caller can give up.
    """

    def __init__(
        self,
        attempts: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        state: BotState | None = None,
        on_wait: Callable[[float], None] | None = None,
    ) -> None:
        self.on_wait = on_wait
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.state = state

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        chat_id = getattr(method, "chat_id", None)
        chat = chat_id if isinstance(chat_id, int) and self.state is not None else None
        if chat is not None and self.state is not None:
            pending = await self._shared_wait(chat)  # asked of another replica, maybe
            if 0 < pending <= self.max_wait:
                await self.sleep(pending)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if chat is not None and self.state is not None:
                    await self._share_wait(chat, exc.retry_after)
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                log.warning(
                    "flood control on %s: waiting %s s", type(method).__name__, exc.retry_after
                )
                if self.on_wait is not None:
                    self.on_wait(exc.retry_after)
                await self.sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover

    # Flood control fails open: with the shared state away (Redis restarting), a
    # message is sent without the shared wait rather than not at all.

    async def _shared_wait(self, chat: int) -> float:
        assert self.state is not None
        try:
            return await self.state.flood_wait(chat)
        except Exception as exc:
            log.warning("flood wait of chat %s unknown (%s): sending", chat, type(exc).__name__)
            return 0.0

    async def _share_wait(self, chat: int, seconds: float) -> None:
        assert self.state is not None
        try:
            await self.state.set_flood_wait(chat, seconds)
        except Exception as exc:
            log.warning("flood wait of chat %s not shared (%s)", chat, type(exc).__name__)
