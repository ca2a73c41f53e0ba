"""The bot's world for tests: fake Bot API and provider servers on 127.0.0.1,
a hub on a temporary SQLite file, and the real dispatcher polling the fake."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher

from llmhub import Hub
from llmhub.testing.openai_server import FakeOpenAIServer
from llmhub_bot import BotSettings, create_bot_and_dispatcher
from llmhub_bot._app import ALLOWED_UPDATES
from llmhub_bot._tables import SCHEMA as BOT_SCHEMA
from tests.fakes.telegram_server import FakeBotAPI

ADMIN = 1
MEMBER = 5  # pre-approved through ALLOWED_USER_IDS, not an admin
STRANGER = 7
TOKEN = "123456:TEST-token-for-the-fake-bot-api"
PROVIDER_KEY = "sk-bot-e2e-provider-key-4d3c2b1a"


@dataclass
class World:
    tg: FakeBotAPI
    llm: FakeOpenAIServer
    hub: Hub
    bot: Bot
    dispatcher: Dispatcher
    settings: BotSettings
    db: Path


@asynccontextmanager
async def open_world(
    tmp_path: Path,
    *,
    polling: bool = True,
    prepare: Callable[[FakeBotAPI], None] | None = None,
    hub_env: dict[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[World]:
    """`prepare` sets the fake Bot API up before the bot's first call."""
    async with FakeBotAPI() as tg, FakeOpenAIServer(api_key=PROVIDER_KEY) as llm:
        if prepare is not None:
            prepare(tg)
        db = tmp_path / "bot.db"
        hub = await Hub.open(
            {
                "LLMHUB_DATABASE_URL": f"sqlite:///{db}",
                "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
                "LLMHUB_MAX_RETRIES": "0",
                "MISTRAL_API_KEY": PROVIDER_KEY,
                "MISTRAL_ENDPOINT": llm.url,
                "DIPSEEK_API_KEY": PROVIDER_KEY,
                "DIPSEEK_ENDPOINT": llm.url,
                **(hub_env or {}),
            }
        )
        # The bot asks for its tables as it starts; a test may read them before.
        await hub.store.use_schema(BOT_SCHEMA)
        config = BotSettings(
            _env_file=None,
            telegram_bot_token=TOKEN,
            telegram_api_url=tg.url,
            admin_ids=frozenset({ADMIN}),
            allowed_user_ids=frozenset({MEMBER}),
            bot_stream_interval=0,
            **settings,
        )
        bot, dispatcher = create_bot_and_dispatcher(config, hub)
        task = (
            asyncio.create_task(
                dispatcher.start_polling(bot, handle_signals=False, allowed_updates=ALLOWED_UPDATES)
            )
            if polling
            else None
        )
        try:
            yield World(tg, llm, hub, bot, dispatcher, config, db)
        finally:
            llm.release()  # nothing may stay held by a hanging fake
            if task is not None:
                await dispatcher.stop_polling()
                await tg.end_polls()
                await task
            await bot.session.close()
            await hub.aclose()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path) as opened:
        yield opened


def rows(db: Path) -> list[tuple[str, str, str]]:
    """(prompt, status, text) of every logged exchange, oldest first."""
    with closing(sqlite3.connect(db)) as conn, conn:
        return conn.execute(
            "SELECT q.prompt, r.status, r.text FROM requests q JOIN responses r"
            " ON r.request_id = q.id ORDER BY q.rowid"
        ).fetchall()


async def say(
    world: World, user: int, text: str, replies: int = 1, chat_id: int | None = None, **kw: Any
) -> list[str]:
    """Send `text` as `user` and return the next `replies` messages the bot sends there,
    as they read once begun (a group's answer is its placeholder, edited)."""
    chat = user if chat_id is None else chat_id
    before = len(world.tg.showing(chat))
    await world.tg.push(world.tg.message(user, text, chat_id=chat, **kw))
    await world.tg.wait_for(lambda tg: len(tg.showing(chat)) >= before + replies)
    return world.tg.showing(chat)[before:]


def shown(tg: FakeBotAPI, chat_id: int) -> list[str]:
    """What the chat shows: its messages with edits applied, answers still being written
    left out."""
    return tg.showing(chat_id)


def buttons(params: dict[str, Any]) -> list[dict[str, str]]:
    """The inline buttons of a sent message's parameters, row after row."""
    return [button for row in params["reply_markup"]["inline_keyboard"] for button in row]


async def press(
    world: World,
    user: int,
    params: dict[str, Any],
    label: str,
    *,
    reply_to: dict[str, Any] | None = None,
    **kw: Any,
) -> None:
    """Press the button `label` (a part of its text) of the message sent with `params`;
    `reply_to` is the message that message answers, as Telegram includes it."""
    button = next(b for b in buttons(params) if label in b["text"])
    chat = int(params["chat_id"])
    shown_message = world.tg._message(chat, params["_message_id"], str(params["text"]))
    if reply_to is not None:
        shown_message["reply_to_message"] = reply_to
    await world.tg.push(world.tg.callback(user, button["callback_data"], shown_message, **kw))


def scrape(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus samples by (name, sorted labels), as a scraper reads them."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def cost_label(
    prompt_tokens: int, completion_tokens: int, model: str = "mistral-small-latest"
) -> str:
    """What a call costs now as the bot shows it: the prices are the maintained data's
    (genai-prices), which a newer release may change, so tests ask it, not a literal."""
    from llmhub import Usage, format_usd
    from llmhub_mistral import MistralProvider

    cost = MistralProvider.cost(
        model, Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    )
    assert cost is not None
    return format_usd(cost)
