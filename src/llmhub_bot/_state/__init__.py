"""The bot's shared state: in one process, or in Redis for several replicas."""

from __future__ import annotations

import hashlib

from ._base import Admission, BotState, QueuedUpdate
from ._memory import MemoryState

__all__ = ["Admission", "BotState", "MemoryState", "QueuedUpdate", "state_for"]


def state_for(redis_url: str | None, token: str) -> BotState:
    """`RedisState` when `REDIS_URL` is set (redis-py imported only then), else `MemoryState`."""
    if not redis_url:
        return MemoryState()
    from ._redis import RedisState

    namespace = hashlib.sha256(token.encode()).hexdigest()[:12]  # never the token itself
    return RedisState.from_url(redis_url, namespace)
