"""An update answered once is never asked of a model again (issue 24): a retried
update whose exchange is logged as answered gets that answer again; and Telegram's
shared flood control fails open when the shared state is away."""

from __future__ import annotations

from typing import Any

from aiogram.methods import SendMessage

from llmhub_bot._flood import RetryAfterMiddleware
from tests.bot.conftest import ADMIN, World, rows


async def test_a_message_answered_before_is_answered_again_from_the_log(world: World) -> None:
    update = world.tg.message(ADMIN, "what is two plus two?")
    await world.tg.push(update)
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    # The same message again (the process died after answering, before it was marked done).
    await world.tg.push(update)
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 2)
    assert world.tg.texts(ADMIN) == ["echo: what is two plus two?"] * 2
    assert len(world.llm.requests) == 1  # one model call
    assert rows(world.db) == [("what is two plus two?", "ok", "echo: what is two plus two?")]


class _StateAway:
    """Shared state whose server is down (Redis restarting)."""

    async def flood_wait(self, chat_id: int) -> float:
        raise ConnectionError("Redis is restarting")

    async def set_flood_wait(self, chat_id: int, seconds: float) -> None:
        raise ConnectionError("Redis is restarting")


async def test_flood_control_fails_open_when_the_shared_state_is_away() -> None:
    sent: list[Any] = []

    async def make_request(bot: Any, method: Any) -> Any:
        sent.append(method)
        return "ok"

    middleware = RetryAfterMiddleware(state=_StateAway())  # type: ignore[arg-type]
    method = SendMessage(chat_id=5, text="the answer")
    answer: Any = await middleware(make_request, None, method)  # type: ignore[arg-type]
    assert answer == "ok"
    assert sent == [method]


async def test_a_message_with_broken_unicode_is_repaired_and_answered_once(world: World) -> None:
    await world.tg.push(world.tg.message(ADMIN, "half \ud83d an emoji"))
    await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
    assert world.tg.texts(ADMIN) == ["echo: half \ufffd an emoji"]
    assert rows(world.db) == [("half \ufffd an emoji", "ok", "echo: half \ufffd an emoji")]
