"""The buttons under an answer: "⏹ stop" while it is written; "↻ again", "↻ with …"
and "continue" under the final text.

A button names its answer by a short key of the exchange's request id, never by
a position or anything kept in memory: the handler checks that the exchange is
still the chat's latest turn, on whichever replica receives the press, so a
button on an old answer says so instead of doing something surprising.

The presses that ask a model go through the chat's queue like
messages: they are answered in order with the chat's other messages, can be
stopped, and are answered again by another replica if this one dies.
"""

from __future__ import annotations

import hashlib

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

__all__ = [
    "Again",
    "AgainWith",
    "ChooseAgain",
    "Continue",
    "ShowButtons",
    "Stop",
    "TryAgain",
    "answer_buttons",
    "stop_button",
    "turn_key",
]


def turn_key(request_id: str) -> str:
    """A key of an exchange's id that fits any callback data (64 bytes)."""
    return hashlib.blake2b(request_id.encode(), digest_size=8).hexdigest()


class Again(CallbackData, prefix="ag"):
    """The same prompt once more, replacing the answer in the context."""

    turn: str


class AgainWith(CallbackData, prefix="aw"):
    """The same prompt to the model `key` names, replacing the answer."""

    turn: str
    key: str


class Continue(CallbackData, prefix="ct"):
    """Go on with an answer the model's output limit cut."""

    turn: str


class Stop(CallbackData, prefix="st"):
    """The stop button of an answer being written: handled at once, never queued
    (the chat's queue is busy with that very answer)."""


def stop_button() -> InlineKeyboardMarkup:
    """The "⏹ stop" button under a placeholder or a growing answer."""
    builder = InlineKeyboardBuilder()
    builder.button(text="⏹ " + _("stop"), callback_data=Stop())
    return builder.as_markup()


class TryAgain(CallbackData, prefix="ta"):
    """A failure's button: answer the message it replied to once more."""


class ChooseAgain(CallbackData, prefix="ac"):
    """Show a page of models to answer again with (in place of the buttons)."""

    turn: str
    cut: bool
    page: int


class ShowButtons(CallbackData, prefix="ab"):
    """Back from the list of models to the answer's buttons."""

    turn: str
    cut: bool


def answer_buttons(turn: str, *, again: bool, cut: bool) -> InlineKeyboardMarkup | None:
    """The buttons of an answer: again and with … unless its prompt carried a file
    (the log keeps the text, not the file), continue when the output limit cut it."""
    builder = InlineKeyboardBuilder()
    if again:
        builder.button(text="↻ " + _("again"), callback_data=Again(turn=turn))
        builder.button(
            text="↻ " + _("with …"), callback_data=ChooseAgain(turn=turn, cut=cut, page=0)
        )
    if cut:
        builder.button(text="⏩ " + _("continue"), callback_data=Continue(turn=turn))
    if not again and not cut:
        return None
    return builder.as_markup()
