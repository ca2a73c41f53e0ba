"""What the bot tells a conversation once: that its earliest turns are no longer sent
to the model (past the context's turn or character limits). Kept in the bot's own
table `chat_notes`, so every replica says it once; `/new` clears it."""

from __future__ import annotations

import logging
import time
import zlib

from aiogram.utils.i18n import gettext as _

from llmhub import ChatId, Hub, LLMHubError

__all__ = ["context_note", "forget_notes"]

log = logging.getLogger("llmhub_bot.notes")

_DROPPED = "context-dropped"


async def context_note(hub: Hub, chat_id: ChatId) -> str | None:
    """The line to add under an answer when the conversation's next request leaves
    earlier turns out, the first time it does; else `None`. A courtesy: a store that
    fails here never keeps an answer from its user."""
    if hub.store.held_rows:  # the database is away: the answer goes first
        return None
    try:
        if not (await hub.chat(chat_id).context()).dropped:
            return None
        told = await hub.store.execute_exclusive(
            _note_key(chat_id),
            "INSERT INTO chat_notes (chat_id, note, created_at) VALUES (:chat, :note, :now)"
            " ON CONFLICT (chat_id, note) DO NOTHING RETURNING note",
            {"chat": str(chat_id), "note": _DROPPED, "now": time.time()},
        )
    except LLMHubError as exc:
        log.warning("context note for chat %s skipped: %s", chat_id, exc)
        return None
    if not told:
        return None  # told before
    return "ℹ️ " + _("Earlier messages are no longer sent to the model; /new starts afresh.")


async def forget_notes(hub: Hub, chat_id: ChatId) -> None:
    """The conversation starts afresh: what it was told may be told again."""
    await hub.store.execute("DELETE FROM chat_notes WHERE chat_id = :chat", {"chat": str(chat_id)})


def _note_key(chat_id: ChatId) -> int:
    """The chat's exclusive-write key, the same in every process (CRC-32, not `hash`),
    apart from the budgets' (negative) and the store's migrations' (another range)."""
    return 0x6E6F_7465_0000_0000 | zlib.crc32(str(chat_id).encode())
