"""`BotState` in Redis, shared by every replica of one bot (`REDIS_URL`).

Keys live under `llmhub:bot:<namespace>:` (the namespace is derived from the
bot's token, so several bots may share one Redis). Each operation that reads
and then writes is one Lua script, so replicas never interleave inside it:

- a chat's queue is a sorted set scored by update id (Telegram's order), with
  the chat in the `pending` set while anything waits;
- a lease is `SET NX PX` holding its owner, extended and released only by
  that owner (compare-and-set, compare-and-delete);
- rate limits are a sliding minute in a sorted set, on Redis's own clock, so
  replicas' clocks do not matter;
- seen update ids expire after a day, as Telegram stops resending by then.

aiogram's `RedisEventIsolation` is not used: it waits for its lock instead of
queueing, its lock expires after 60 s (shorter than long answers), and it is
per user, so two users of one group would not be serialised.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis.asyncio as redis

from ._base import Admission, BotState, QueuedUpdate

__all__ = ["RedisState"]

_PUSH = """
if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('SET', KEYS[3], 1, 'EX', 86400)
return 1
"""
_DONE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return 1
"""
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_EXTEND = """
local lost = {}
for i, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[1] then
        redis.call('PEXPIRE', key, ARGV[2])
    else
        table.insert(lost, i)
    end
end
return lost
"""
_TAKE_STOPS = """
local asked = {}
for i, key in ipairs(KEYS) do
    local update = redis.call('GETDEL', key)
    if update then table.insert(asked, i) table.insert(asked, update) end
end
return asked
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_ALLOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], 61000)
return 1
"""


class RedisState(BotState):
    """Shared state in Redis; `await RedisState.connect(url, namespace)`."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"llmhub:bot:{namespace}:"
        self._push = client.register_script(_PUSH)
        self._done = client.register_script(_DONE)
        self._lease = client.register_script(_LEASE)
        self._release = client.register_script(_RELEASE)
        self._extend = client.register_script(_EXTEND)
        self._take_stops = client.register_script(_TAKE_STOPS)
        self._allow = client.register_script(_ALLOW)
        self._counter = 0
        # Rate-limit entries must be unique across every process sharing the key.
        self._instance = uuid.uuid4().hex[:12]

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisState:
        """A state on the Redis at `url` (connections are made on first use)."""
        client: redis.Redis = redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
        )
        return cls(client, namespace)

    def _key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    async def first_sight(self, update_id: int) -> bool:
        fresh: Any = await self.client.set(self._key("seen", update_id), 1, nx=True, ex=86_400)
        return bool(fresh)

    async def push(self, chat_id: int, update: QueuedUpdate, limit: int) -> Admission:
        # The member carries the id, so two updates never collide as members.
        member = f"{update.update_id}|{update.payload}"
        keys = [
            self._key("queue", chat_id),
            self._key("pending"),
            self._key("seen", update.update_id),
        ]
        args: list[str | int] = [update.update_id, member, limit, chat_id]
        result = int(await self._push(keys=keys, args=args))
        return "queued" if result == 1 else "duplicate" if result == 2 else "full"

    async def peek(self, chat_id: int) -> QueuedUpdate | None:
        first: list[str] = await self.client.zrange(self._key("queue", chat_id), 0, 0)
        if not first:
            return None
        update_id, _, payload = first[0].partition("|")
        return QueuedUpdate(int(update_id), payload)

    async def done(self, chat_id: int, update_id: int) -> None:
        keys = [self._key("queue", chat_id), self._key("pending")]
        await self._done(keys=keys, args=[update_id, chat_id])

    async def waiting(self, chat_id: int) -> int:
        return int(await self.client.zcard(self._key("queue", chat_id)))

    async def pending_chats(self) -> list[int]:
        members: set[str] = await self.client.smembers(self._key("pending"))  # type: ignore[misc]
        return sorted(int(m) for m in members)

    async def lease(self, chat_id: int, owner: str, ttl: float) -> bool:
        args: list[str | int] = [owner, max(1, int(ttl * 1000))]
        return bool(await self._lease(keys=[self._key("lease", chat_id)], args=args))

    async def extend(self, chat_ids: list[int], owner: str, ttl: float) -> list[int]:
        if not chat_ids:
            return []
        keys = [self._key("lease", chat) for chat in chat_ids]
        args: list[str | int] = [owner, max(1, int(ttl * 1000))]
        lost = await self._extend(keys=keys, args=args)
        return [chat_ids[int(i) - 1] for i in lost]

    async def release(self, chat_id: int, owner: str) -> None:
        await self._release(keys=[self._key("lease", chat_id)], args=[owner])

    async def allow(self, user_id: int, per_minute: int) -> bool:
        self._counter += 1
        args: list[str | int] = [per_minute, f"{self._instance}-{self._counter}"]
        return bool(await self._allow(keys=[self._key("rate", user_id)], args=args))

    async def set_flood_wait(self, chat_id: int, seconds: float) -> None:
        await self.client.set(self._key("flood", chat_id), 1, px=max(1, int(seconds * 1000)))

    async def flood_wait(self, chat_id: int) -> float:
        left = int(await self.client.pttl(self._key("flood", chat_id)))
        return max(0.0, left / 1000)

    async def put_note(self, key: str, text: str, ttl: float) -> None:
        await self.client.set(self._key("note", key), text, px=max(1, int(ttl * 1000)))

    async def get_note(self, key: str) -> str | None:
        found: Any = await self.client.get(self._key("note", key))
        return str(found) if found is not None else None

    async def request_stop(self, chat_id: int, update_id: int) -> None:
        # Short-lived: it names one answer, which is over or stopped within seconds.
        await self.client.set(self._key("stop", chat_id), update_id, ex=60)

    async def take_stops(self, chat_ids: list[int]) -> dict[int, int]:
        if not chat_ids:
            return {}
        flat = await self._take_stops(keys=[self._key("stop", chat) for chat in chat_ids])
        return {
            chat_ids[int(i) - 1]: int(update)
            for i, update in zip(flat[::2], flat[1::2], strict=True)
        }

    async def ping(self) -> bool:
        try:
            return bool(await self.client.ping())  # type: ignore[misc]
        except (redis.RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self.client.aclose()

    def __repr__(self) -> str:
        return f"<RedisState {self.prefix!r}>"
