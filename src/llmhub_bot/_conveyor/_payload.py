"""An update as the queue keeps it: JSON, whatever text it carries."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiogram.types import Update

__all__ = ["payload"]

log = logging.getLogger("llmhub_bot.conveyor")

_SURROGATE = re.compile("[\ud800-\udfff]")


def payload(update: Update) -> str:
    """The update as JSON for the queue. Text that is not valid Unicode (a lone
    surrogate, which Telegram relays as sent) cannot be written as UTF-8: such
    characters become U+FFFD, once, logged; the rest of the message is kept and
    answered instead of the update failing for ever."""
    try:
        return update.model_dump_json(exclude_none=True)
    except ValueError:  # pydantic's serialization error is a ValueError
        log.warning("update %s: text that is not valid Unicode repaired", update.update_id)
        data = _repaired(update.model_dump(mode="python", exclude_none=True, by_alias=True))
        return Update.model_validate(data).model_dump_json(exclude_none=True)


def _repaired(value: Any) -> Any:
    if isinstance(value, str):  # a pair is one character by now: a surrogate left is lone
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {key: _repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_repaired(item) for item in value]
    return value
