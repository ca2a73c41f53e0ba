"""What the bot's handlers share in one process: its settings and start time.

What replicas must share (queues, leases, rate limits, the stop button) is in
`BotState`; what must survive a restart (history, models, users) in the store.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram.types import TelegramObject

from llmhub import Tool

from ._metrics import Metrics
from ._settings import BotSettings

__all__ = ["Handler", "Runtime"]

#: What an outer middleware calls to pass an update on (aiogram's handler chain).
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass
class Runtime:
    settings: BotSettings
    metrics: Metrics
    started_at: float = field(default_factory=time.monotonic)
    #: Whether the Bot API server takes `sendMessageDraft`; decided by its first refusal.
    drafts: bool = True
    #: The tools the models may call (`BOT_TOOLS`, the `llmhub_bot.tools` entry points).
    tools: tuple[Tool, ...] = ()
    #: Chats whose answer the conveyor cancels to hand the chat to another process
    #: (shutdown, a lost lease): such an answer is not one the user stopped.
    handing_over: set[int] = field(default_factory=set)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def pre_approved(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids or user_id in self.settings.allowed_user_ids
