"""Forum topics: each topic of a forum group is a conversation of its own."""

from __future__ import annotations

from aiogram.types import Message

from llmhub import ChatId

__all__ = ["conversation_of", "topic_of"]


def topic_of(message: Message) -> int | None:
    """The forum topic `message` is in, if it is in one (not the group's "General")."""
    return message.message_thread_id if message.is_topic_message else None


def conversation_of(message: Message) -> ChatId:
    """The hub's chat for `message`: its chat, or in a forum group its topic
    ("-100123:7"), so that each topic has its own context, model and system prompt."""
    topic = topic_of(message)
    return message.chat.id if topic is None else f"{message.chat.id}:{topic}"
