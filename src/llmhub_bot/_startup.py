"""What the bot tells Telegram when it starts, none of which it needs to answer.

The command menu and the descriptions in each language, the webhook's address
and its health: a Bot API server may refuse any of them (an older or
self-hosted `telegram-bot-api`, a 5xx, a timeout). Each refusal is one warning
line, the call is tried again later in the background, and the bot answers
meanwhile. Only `getMe`, which proves the token, may stop the bot; it is not
here, and `reach_telegram` waits for it while the server does not answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

__all__ = ["Chore", "Chores", "reach_telegram"]

log = logging.getLogger("llmhub_bot.startup")

#: Seconds before each new try of what was refused; the last is repeated for a
#: chore that must succeed in the end (the webhook's address).
RETRY_DELAYS: Sequence[float] = (30.0, 120.0, 600.0, 1800.0)
#: An optional call that takes longer is given up (and tried again later).
CALL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Chore:
    """One call to make: `what` names it in the log, `call` gets the request timeout."""

    what: str
    call: Callable[[int], Awaitable[object]]
    until_done: bool = False  # keep trying after the delays run out


def _reason(exc: TelegramAPIError) -> str:
    return f"{type(exc).__name__}: {exc.message}"


class Chores:
    """Runs its chores in the background, once, then again for the refused ones."""

    def __init__(self, chores: Sequence[Chore]) -> None:
        self._chores = list(chores)
        self._task: asyncio.Task[None] | None = None
        #: Set when every chore was tried once, and when each succeeded or was given up.
        self.tried = asyncio.Event()
        self.finished = asyncio.Event()
        self.refused: list[str] = []

    def add(self, chore: Chore, *, first: bool = False) -> None:
        if first:
            self._chores.insert(0, chore)
        else:
            self._chores.append(chore)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="llmhub-bot-startup")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        pending = list(self._chores)
        delays = iter(RETRY_DELAYS)
        last = RETRY_DELAYS[-1] if RETRY_DELAYS else 0.0
        try:
            while pending:
                pending = [chore for chore in pending if not await self._try(chore)]
                self.tried.set()
                if not pending:
                    break
                delay = next(delays, None)
                if delay is None:
                    given_up = [chore.what for chore in pending if not chore.until_done]
                    if given_up:
                        log.warning("start-up: gave up on %s", ", ".join(given_up))
                    pending = [chore for chore in pending if chore.until_done]
                    delay = last
                if pending:
                    await asyncio.sleep(delay)
        finally:
            self.tried.set()
            self.finished.set()

    async def _try(self, chore: Chore) -> bool:
        try:
            await chore.call(max(1, int(CALL_TIMEOUT)))
        except TelegramAPIError as exc:
            reason = _reason(exc)
        except Exception as exc:  # an answer aiogram cannot read, say: not worth stopping for
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        else:
            return True
        self.refused.append(chore.what)
        log.warning("start-up: %s refused (%s); will try again later", chore.what, reason)
        return False


#: Seconds before the first new try to reach a Bot API server that does not
#: answer at start, doubling up to the second.
REACH_DELAYS = (1.0, 60.0)


async def reach_telegram(bot: Bot, server: str) -> None:
    """`getMe` until the Bot API server at `server` answers: a network error or a
    5xx (Telegram or a proxy restarting, the network not up yet) is one warning
    line per try, then a wait that doubles up to a minute. A refused token is
    not waited out: `TelegramUnauthorizedError` goes to the caller."""
    delay, longest = REACH_DELAYS
    attempt = 1
    while True:
        try:
            await bot.me()
            return
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            wait = float(exc.retry_after) if isinstance(exc, TelegramRetryAfter) else delay
            reason = _reason(exc).replace(bot.token, "<token>")
            log.warning(
                "Telegram does not answer at %s (%s); try %d again in %.0f s",
                server,
                reason,
                attempt,
                wait,
            )
        await asyncio.sleep(wait)
        delay = min(delay * 2, longest)
        attempt += 1
