"""The lease keeper: one loop for the whole process that extends every chat lease it
holds in one round trip, hands over the answers whose lease was lost, and cancels
those whose stop was asked (on another replica, too: the stop is noted in
`BotState`, read here about once a second)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from .._state import BotState
from ._answers import Answers
from ._workers import ChatWorkers

__all__ = ["LeaseKeeper"]

log = logging.getLogger("llmhub_bot.conveyor")

_STOP_POLL = 1.0


@dataclass
class LeaseKeeper:
    state: BotState
    workers: ChatWorkers
    answers: Answers

    async def run(self) -> None:
        workers = self.workers
        while True:
            await asyncio.sleep(min(_STOP_POLL, workers.lease_ttl / 3))
            try:
                held = list(workers.leased)
                for chat_id in await self.state.extend(held, workers.owner, workers.lease_ttl):
                    log.warning("chat %s: lease lost; leaving it to its new owner", chat_id)
                    workers.lost.add(chat_id)
                    self.answers.hand_over(chat_id)
                stops = await self.state.take_stops(self.answers.chats())
                for chat_id, update_id in stops.items():
                    self.answers.stop(chat_id, update_id)  # not a stale stop
            except Exception as exc:  # a Redis blip: the leases have time to spare
                log.warning("extending leases failed: %s", exc)
