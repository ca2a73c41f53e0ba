"""What every `BotState` must do, run against each (in memory, and Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from llmhub_bot._state import BotState, MemoryState, QueuedUpdate
from tests.services import REDIS_URL, need


@pytest.fixture(params=["memory", "redis"])
async def state(request: pytest.FixtureRequest) -> AsyncIterator[BotState]:
    if request.param == "memory":
        yield MemoryState()
        return
    need("redis")
    from llmhub_bot._state._redis import RedisState

    shared = RedisState.from_url(REDIS_URL, f"test-{uuid.uuid4().hex[:10]}")
    try:
        yield shared
    finally:
        keys = [key async for key in shared.client.scan_iter(match=f"{shared.prefix}*")]
        if keys:
            await shared.client.delete(*keys)
        await shared.aclose()


async def test_an_update_is_seen_once(state: BotState) -> None:
    assert await state.first_sight(10)
    assert not await state.first_sight(10)
    assert await state.first_sight(11)


async def test_a_chats_queue_is_in_update_order_bounded_and_per_chat(state: BotState) -> None:
    assert await state.push(1, QueuedUpdate(12, '{"b": "x|y"}'), limit=3) == "queued"
    assert await state.push(1, QueuedUpdate(11, '{"a": 1}'), limit=3) == "queued"
    assert await state.push(1, QueuedUpdate(11, '{"a": 1}'), limit=3) == "duplicate"
    assert await state.push(2, QueuedUpdate(13, "{}"), limit=3) == "queued"
    assert await state.push(1, QueuedUpdate(14, "{}"), limit=3) == "queued"
    assert await state.push(1, QueuedUpdate(15, "{}"), limit=3) == "full"  # nothing queued
    assert await state.waiting(1) == 3
    assert await state.peek(1) == QueuedUpdate(11, '{"a": 1}')
    await state.done(1, 11)
    assert await state.peek(1) == QueuedUpdate(12, '{"b": "x|y"}')
    assert sorted(await state.pending_chats()) == [1, 2]
    await state.done(2, 13)
    assert await state.pending_chats() == [1]
    assert await state.peek(2) is None
    assert await state.push(2, QueuedUpdate(13, "{}"), limit=3) == "duplicate"  # answered already
    assert await state.push(1, QueuedUpdate(15, "{}"), limit=3) == "queued"  # room again


async def test_a_lease_has_one_owner_until_released_or_expired(state: BotState) -> None:
    assert await state.lease(5, "a", ttl=30)
    assert not await state.lease(5, "b", ttl=30)
    assert await state.lease(5, "a", ttl=30)  # extended by its owner
    await state.release(5, "b")  # not b's to release
    assert not await state.lease(5, "b", ttl=30)
    await state.release(5, "a")
    assert await state.lease(5, "b", ttl=0.05)
    await asyncio.sleep(0.1)  # the owner died: its lease runs out
    assert await state.lease(5, "c", ttl=30)
    assert await state.lease(6, "c", ttl=30)
    assert await state.extend([5, 6, 7], "c", ttl=30) == [7]  # 7 was never c's
    assert await state.extend([5], "b", ttl=30) == [5]


async def test_rate_limits_count_a_sliding_minute_per_user(state: BotState) -> None:
    assert [await state.allow(7, per_minute=2) for _ in range(3)] == [True, True, False]
    assert await state.allow(8, per_minute=2)


async def test_two_processes_racing_for_a_limit_get_exactly_it(state: BotState) -> None:
    results = await asyncio.gather(*(state.allow(9, per_minute=5) for _ in range(20)))
    assert results.count(True) == 5


async def test_stop_requests_and_flood_waits(state: BotState) -> None:
    assert await state.take_stops([3, 4]) == {}
    await state.request_stop(3, update_id=31)
    await state.request_stop(5, update_id=51)
    assert await state.take_stops([3, 4]) == {3: 31}  # which answer to stop
    assert await state.take_stops([3, 4]) == {}
    assert await state.flood_wait(3) == 0
    await state.set_flood_wait(3, 30)
    assert 25 < await state.flood_wait(3) <= 30
    assert await state.ping()


async def test_notes_are_kept_for_their_time_only(state: BotState) -> None:
    assert await state.get_note("q1") is None
    await state.put_note("q1", "Почему небо голубое? 🌌", ttl=600)
    await state.put_note("q2", "gone at once", ttl=0)
    assert await state.get_note("q1") == "Почему небо голубое? 🌌"
    await asyncio.sleep(0.01)  # past q2's expiry (a millisecond), whatever the clock
    assert await state.get_note("q2") is None


async def test_a_flood_wait_asked_of_one_replica_holds_for_every_replica() -> None:
    from aiogram import Bot
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    from llmhub_bot._flood import RetryAfterMiddleware

    shared = MemoryState()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    first = RetryAfterMiddleware(sleep=sleep, state=shared)
    second = RetryAfterMiddleware(sleep=sleep, state=shared)  # another replica's
    bot = Bot("123:abc")
    method = SendMessage(chat_id=77, text="hi")
    answers: list[object] = ["flood", "sent", "sent"]

    async def telegram(_: Bot, sent: Any) -> Any:
        if answers.pop(0) == "flood":
            raise TelegramRetryAfter(method=sent, message="Too Many Requests", retry_after=20)
        return "ok"

    send: Any = telegram  # stands in for aiogram's request chain
    try:
        sent: Any = await first(send, bot, method)
        assert sent == "ok"
        assert waits == [20]  # waited out where Telegram asked
        sent = await second(send, bot, method)
        assert sent == "ok"
        assert len(waits) == 2
        assert 15 < waits[1] <= 20  # the other replica waited too, before writing
    finally:
        await bot.session.close()


async def test_a_stop_pressed_while_nothing_is_answered_stops_nothing_later() -> None:
    """A stale stop must not cancel the chat's next answer, on this replica or another."""
    from llmhub_bot import BotSettings
    from llmhub_bot._conveyor import Conveyor

    shared = MemoryState()
    conveyor = Conveyor(shared, BotSettings(_env_file=None))
    await conveyor.stop(8)  # the answer it was meant for has ended; the queue is empty
    assert await shared.take_stops([8]) == {}
    await shared.push(8, QueuedUpdate(81, "{}"), limit=5)  # being answered elsewhere
    await conveyor.stop(8)
    assert await shared.take_stops([8]) == {8: 81}


async def test_seen_update_ids_are_forgotten_after_a_day_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    state = MemoryState()
    assert await state.first_sight(1)
    clock[0] += 3600
    assert await state.push(9, QueuedUpdate(2, "{}"), limit=5) == "queued"
    clock[0] += 86_400 - 3600  # update 1 is a day old, update 2 is not
    assert await state.first_sight(3)
    assert await state.first_sight(1)  # forgotten: Telegram no longer resends it
    assert not await state.first_sight(2)
