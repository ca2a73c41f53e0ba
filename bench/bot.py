"""5. The bot: updates per second from a fake Bot API, through access control,
context and the store, to a fake provider, and replies back.

The fakes (tests/fakes) run in the same process as the bot, so this figure
includes their CPU: it is a floor for the bot itself on this machine.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from llmhub import Hub
from llmhub.testing.openai_server import FakeOpenAIServer
from llmhub_bot import BotSettings, create_bot_and_dispatcher
from llmhub_bot._app import ALLOWED_UPDATES
from tests.fakes.telegram_server import FakeBotAPI

from ._common import median, table

USERS = 300
ROUNDS = 3


async def _once(folder: Path) -> float:
    async with FakeBotAPI() as tg, FakeOpenAIServer() as llm:
        hub = await Hub.open(
            {
                "LLMHUB_DATABASE_URL": f"sqlite:///{folder / 'bot.db'}",
                "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
                "MISTRAL_API_KEY": "bench",
                "MISTRAL_ENDPOINT": llm.url,
            }
        )
        settings = BotSettings(
            _env_file=None,
            telegram_bot_token="123456:BENCH-token",
            telegram_api_url=tg.url,
            allowed_user_ids=frozenset(range(1, USERS + 1)),
        )
        bot, dispatcher = create_bot_and_dispatcher(settings, hub)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, allowed_updates=ALLOWED_UPDATES)
        )
        try:
            await tg.wait_for(lambda fake: bool(fake.sent("setMyCommands")), timeout=30)
            started = time.perf_counter()
            await tg.push(*(tg.message(user, f"hello from {user}") for user in range(1, USERS + 1)))
            await tg.wait_for(lambda fake: len(fake.sent("sendMessage")) >= USERS, timeout=120)
            return USERS / (time.perf_counter() - started)
        finally:
            await dispatcher.stop_polling()
            await polling
            await bot.session.close()
            await hub.aclose()


def run() -> str:
    rates = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as folder:
            rates.append(asyncio.run(_once(Path(folder))))
    return (
        table(
            f"The bot: {USERS} users write at once; updates answered per second",
            ["what", "updates / s"],
            [("fake Bot API → access → context → store → fake provider → reply", median(rates))],
        )
        + "\nThe fake servers share the bot's process: the figure includes their CPU.\n"
    )


if __name__ == "__main__":
    print(run())
