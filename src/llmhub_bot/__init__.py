"""The bundled Telegram bot: a consumer of llmhub's public API (aiogram 3).

from llmhub_bot import create_bot_and_dispatcher
bot, dispatcher = create_bot_and_dispatcher()

The names load on first use, so `llmhub-bot` (`__main__`) can tell a user
who installed llmhub without its `bot` extra what to install, instead of
failing on the import of aiogram.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "BotSettings": "._settings",
    "create_bot_and_dispatcher": "._app",
    "render": "._delivery",
    "run_polling": "._app",
    "run_webhook": "._webhook",
    "send_long_message": "._delivery",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'llmhub_bot' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value
