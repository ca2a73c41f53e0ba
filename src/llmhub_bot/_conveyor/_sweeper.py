"""The sweeper: every third of a lease, the chats left waiting (a dead process's, or
a kick that was missed) are given to a worker of this process, which answers them
if it can take the chat's lease."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from .._state import BotState
from ._workers import ChatWorkers

__all__ = ["Sweeper"]

log = logging.getLogger("llmhub_bot.conveyor")


@dataclass
class Sweeper:
    state: BotState
    workers: ChatWorkers

    async def run(self) -> None:
        while True:
            try:
                for chat_id in await self.state.pending_chats():
                    self.workers.kick(chat_id)
            except Exception as exc:  # a Redis blip: try again next round
                log.warning("sweep failed: %s", exc)
            await asyncio.sleep(max(0.5, self.workers.lease_ttl / 3))
