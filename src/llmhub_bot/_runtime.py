"""State the bot keeps in memory: who is generating, how fast users write.

Everything that must survive a restart (history, chosen models, users) lives
in llmhub's store instead.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from ._settings import BotSettings

__all__ = ["RateLimiter", "Runtime"]


class RateLimiter:
    """At most `per_minute` events per key in any sliding minute."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._events: defaultdict[int, deque[float]] = defaultdict(deque)

    def allow(self, key: int) -> bool:
        now = time.monotonic()
        events = self._events[key]
        while events and now - events[0] >= 60.0:
            events.popleft()
        if len(events) >= self.per_minute:
            return False
        events.append(now)
        return True


@dataclass
class Runtime:
    settings: BotSettings
    started_at: float = field(default_factory=time.monotonic)
    #: Chats with a generation under way, and its task (cancelled by the stop button).
    generations: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.bot_rate_limit_per_minute)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def pre_approved(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids or user_id in self.settings.allowed_user_ids
