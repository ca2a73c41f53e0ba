"""Files in messages: photos, documents, voice messages, audio and video.

A file is fetched only after its announced size passes `BOT_MAX_FILE_BYTES`;
which model may read it is the hub's to say (each model's input kinds are in its
plugin's catalogue). When the chat's model cannot, the refusal offers the models
that can, one button each: the button carries the file's kind and a short key of
the model, never a position in a list kept in memory, so it works after a
restart and on any replica.
"""

from __future__ import annotations

import io
from typing import cast, get_args

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Attachment, Hub, InputKind

from ._models_menu import model_key

__all__ = ["ReadWith", "download", "human_size", "model_reading", "switch_keyboard"]

#: How many models a refusal offers.
OFFERED = 6


def human_size(size: int) -> str:
    """A size as people read it: "24 MB", "1.5 KB", "300 B" (units of 1,024, as
    Telegram's apps show file sizes)."""
    *smaller, largest = (_("B"), _("KB"), _("MB"), _("GB"))
    value, unit = float(size), largest
    for step in smaller:
        if value < 1024:
            unit = step
            break
        value /= 1024
    shown = f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
    return f"{shown} {unit}"


def _too_large(size: int, limit: int) -> str:
    return _("This file is too large ({size}; the limit is {limit}).").format(
        size=human_size(size), limit=human_size(limit)
    )


class ReadWith(CallbackData, prefix="rdw"):
    """Switch the chat to the model `key` names and answer the refused file with it."""

    kind: str
    key: str


def _file_of(message: Message) -> tuple[str, int | None, str | None, str | None] | None:
    """(file id, announced size, MIME type, file name) of the message's file."""
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return photo.file_id, photo.file_size, "image/jpeg", None
    if message.document:
        doc = message.document
        return doc.file_id, doc.file_size, doc.mime_type, doc.file_name
    if message.voice:
        voice = message.voice
        return voice.file_id, voice.file_size, voice.mime_type or "audio/ogg", None
    if message.audio:
        audio = message.audio
        return audio.file_id, audio.file_size, audio.mime_type or "audio/mpeg", audio.file_name
    if message.video:
        video = message.video
        return video.file_id, video.file_size, video.mime_type or "video/mp4", video.file_name
    if message.video_note:
        note = message.video_note
        return note.file_id, note.file_size, "video/mp4", None
    return None


async def download(message: Message, bot: Bot, limit: int) -> list[Attachment] | str:
    """The message's file as bytes (none for plain text), or why it is refused."""
    found = _file_of(message)
    if found is None:
        return []
    file_id, size, mime, name = found
    if size is not None and size > limit:
        return _too_large(size, limit)
    if not mime:
        return _("I cannot tell what kind of file this is.")
    buffer = io.BytesIO()
    await bot.download(file_id, destination=buffer)
    data = buffer.getvalue()
    if len(data) > limit:  # the size was not announced, or was wrong
        return _too_large(len(data), limit)
    return [Attachment(data, mime, name)]


def switch_keyboard(kind: InputKind, models: list[str]) -> InlineKeyboardMarkup:
    """One button per model that reads `kind`."""
    builder = InlineKeyboardBuilder()
    for name in models[:OFFERED]:
        builder.button(text=name, callback_data=ReadWith(kind=kind, key=model_key(name)))
    builder.adjust(1)
    return builder.as_markup()


def model_reading(hub: Hub, kind: str, key: str) -> str | None:
    """The model a button names, if it still reads `kind` here."""
    if kind not in get_args(InputKind):
        return None
    models = hub.registry.models_reading(cast(InputKind, kind))
    return next((name for name in models if model_key(name) == key), None)
