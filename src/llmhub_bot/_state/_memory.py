"""`BotState` inside one process: the default, with no Redis."""

from __future__ import annotations

import time
from collections import defaultdict, deque

from ._base import Admission, BotState, QueuedUpdate

__all__ = ["MemoryState"]

_SEEN_FOR = 86_400.0


class MemoryState(BotState):
    """Dictionaries and a monotonic clock; nothing outlives the process."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._seen_order: deque[tuple[float, int]] = deque()  # oldest first, for forgetting
        self._queues: defaultdict[int, dict[int, str]] = defaultdict(dict)
        self._leases: dict[int, tuple[str, float]] = {}
        self._events: defaultdict[int, deque[float]] = defaultdict(deque)
        self._floods: dict[int, float] = {}
        self._stops: dict[int, int] = {}
        self._notes: dict[str, tuple[float, str]] = {}

    def _remember(self, update_id: int) -> None:
        now = time.monotonic()
        # Forget what Telegram would no longer resend: from the oldest end, so each
        # id costs O(1) however many a day brings.
        while self._seen_order and now - self._seen_order[0][0] >= _SEEN_FOR:
            self._seen.discard(self._seen_order.popleft()[1])
        self._seen.add(update_id)
        self._seen_order.append((now, update_id))

    async def first_sight(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._remember(update_id)
        return True

    async def push(self, chat_id: int, update: QueuedUpdate, limit: int) -> Admission:
        if update.update_id in self._seen:
            return "duplicate"
        queue = self._queues[chat_id]
        if len(queue) >= limit:
            return "full"
        queue[update.update_id] = update.payload
        self._remember(update.update_id)
        return "queued"

    async def peek(self, chat_id: int) -> QueuedUpdate | None:
        queue = self._queues.get(chat_id)
        if not queue:
            return None
        first = min(queue)
        return QueuedUpdate(first, queue[first])

    async def done(self, chat_id: int, update_id: int) -> None:
        queue = self._queues.get(chat_id)
        if queue is not None:
            queue.pop(update_id, None)
            if not queue:
                del self._queues[chat_id]

    async def waiting(self, chat_id: int) -> int:
        return len(self._queues.get(chat_id, ()))

    async def pending_chats(self) -> list[int]:
        return [chat for chat, queue in self._queues.items() if queue]

    async def lease(self, chat_id: int, owner: str, ttl: float) -> bool:
        now = time.monotonic()
        holder = self._leases.get(chat_id)
        if holder is not None and holder[0] != owner and holder[1] > now:
            return False
        self._leases[chat_id] = (owner, now + ttl)
        return True

    async def extend(self, chat_ids: list[int], owner: str, ttl: float) -> list[int]:
        now = time.monotonic()
        lost = []
        for chat in chat_ids:
            holder = self._leases.get(chat)
            if holder is not None and holder[0] == owner and holder[1] > now:
                self._leases[chat] = (owner, now + ttl)
            else:
                lost.append(chat)
        return lost

    async def release(self, chat_id: int, owner: str) -> None:
        holder = self._leases.get(chat_id)
        if holder is not None and holder[0] == owner:
            del self._leases[chat_id]

    async def allow(self, user_id: int, per_minute: int) -> bool:
        now = time.monotonic()
        events = self._events[user_id]
        while events and now - events[0] >= 60.0:
            events.popleft()
        if len(events) >= per_minute:
            return False
        events.append(now)
        return True

    async def set_flood_wait(self, chat_id: int, seconds: float) -> None:
        self._floods[chat_id] = max(self._floods.get(chat_id, 0.0), time.monotonic() + seconds)

    async def flood_wait(self, chat_id: int) -> float:
        return max(0.0, self._floods.get(chat_id, 0.0) - time.monotonic())

    async def put_note(self, key: str, text: str, ttl: float) -> None:
        now = time.monotonic()
        self._notes = {k: v for k, v in self._notes.items() if v[0] > now}  # expired ones go
        self._notes[key] = (now + ttl, text)

    async def get_note(self, key: str) -> str | None:
        found = self._notes.get(key)
        return found[1] if found is not None and found[0] > time.monotonic() else None

    async def request_stop(self, chat_id: int, update_id: int) -> None:
        self._stops[chat_id] = update_id

    async def take_stops(self, chat_ids: list[int]) -> dict[int, int]:
        return {chat: self._stops.pop(chat) for chat in chat_ids if chat in self._stops}

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<MemoryState chats waiting={len(self._queues)}>"
