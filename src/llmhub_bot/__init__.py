"""The bundled Telegram bot: a consumer of llmhub's public API (aiogram 3).

from llmhub_bot import create_bot_and_dispatcher
bot, dispatcher = create_bot_and_dispatcher()
"""

from __future__ import annotations

from ._app import create_bot_and_dispatcher, run_polling
from ._delivery import render, send_long_message
from ._settings import BotSettings
from ._webhook import run_webhook

__all__ = [
    "BotSettings",
    "create_bot_and_dispatcher",
    "render",
    "run_polling",
    "run_webhook",
    "send_long_message",
]
