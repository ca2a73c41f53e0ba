"""A user's own data: /export sends the chat's conversation as a Markdown file;
/forget_me deletes the user's rows after a confirmation.

Forgetting deletes the user's requests and the answers to them, in every chat,
and their private chat's settings (model, system prompt), and drops their names;
what remains is counts: their totals per provider and day (`forgotten_usage`),
their budget counters, and their id with its access decision. The confirmation
goes through the chat's queue (`QUEUED_BUTTONS` in `_app`), after any answer still
under way there, so no answer is logged after its request was deleted.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub
from llmhub.store import Exchange

from ._runtime import Runtime
from ._topics import conversation_of
from ._users import Users

__all__ = ["ForgetMe", "conversation_markdown", "make_router"]


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def conversation_markdown(exchanges: list[Exchange], title: str, private: bool, now: float) -> str:
    """The conversation as Markdown: each prompt and answer whole, as written, under a
    line saying who wrote it (the model by name) and when."""
    lines = [
        f"# {title}",
        "",
        _("Exported {time}; {turns} exchanges.").format(time=_when(now), turns=len(exchanges)),
    ]
    for exchange in exchanges:
        mine = private or exchange.user_id is None
        author = _("You") if mine else _("User {user}").format(user=exchange.user_id)
        lines += [
            "",
            "---",
            "",
            f"**{author}** · {_when(exchange.created_at)}",
            "",
            # A file alone (a voice message, a photo) leaves no text; the log keeps no file.
            exchange.prompt or _("(a file; the bot does not keep files)"),
            "",
            f"**{exchange.provider}/{exchange.model}**",
            "",
            exchange.text or "",
        ]
    return "\n".join(lines) + "\n"


async def export(message: Message, hub: Hub, runtime: Runtime) -> None:
    chat = message.chat
    exchanges = await hub.chat(conversation_of(message)).conversation()
    asker = message.from_user.id if message.from_user else None
    if chat.type != "private" and not runtime.is_admin(asker):
        # In a group a member takes out their own exchanges; the chat's are the admins'.
        exchanges = [exchange for exchange in exchanges if exchange.user_id == asker]
    if not exchanges:
        await message.answer(_("Nothing to export: this conversation is empty."), parse_mode=None)
        return
    now = time.time()
    private = chat.type == "private"
    title = chat.title or (message.from_user.full_name if private and message.from_user else "")
    markdown = conversation_markdown(
        exchanges, _("Conversation: {title}").format(title=title or chat.id), private, now
    )
    name = f"conversation-{chat.id}-{datetime.fromtimestamp(now, UTC):%Y%m%d-%H%M}.md"
    await message.answer_document(
        BufferedInputFile(markdown.encode(), filename=name),
        caption=_("This conversation: {turns} exchanges.").format(turns=len(exchanges)),
        parse_mode=None,
    )


class ForgetMe(CallbackData, prefix="fg"):
    """The confirmation (or not) of /forget_me, by the user who asked."""

    user: int
    sure: bool


async def forget_me(message: Message) -> None:
    user = message.from_user.id if message.from_user else message.chat.id
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Delete my data"), callback_data=ForgetMe(user=user, sure=True))
    builder.button(text=_("Cancel"), callback_data=ForgetMe(user=user, sure=False))
    await message.answer(
        _(
            "This deletes everything the bot keeps of yours: your messages and the answers"
            " to them, in every chat, and this chat's settings. The statistics keep only"
            " counts. It cannot be undone."
        ),
        reply_markup=builder.as_markup(),
        parse_mode=None,
    )


async def confirmed(query: CallbackQuery, callback_data: ForgetMe, hub: Hub) -> None:
    if query.from_user.id != callback_data.user:
        await query.answer(_("Only the one who asked can confirm this."), show_alert=True)
        return
    if not callback_data.sure:
        text = _("Nothing was deleted.")
    else:
        # Telegram's rule: a user's private chat with the bot has the user's id.
        deleted = await hub.forget_user(callback_data.user, chats=[callback_data.user])
        await Users(hub.store).forget_names(callback_data.user)
        text = _("Done: {count} of your messages and the answers to them are deleted.").format(
            count=deleted
        )
    # Answered late (it waited in the chat's queue, or another replica took the chat
    # over), the press may be too old to answer: the edit below still tells the user.
    with contextlib.suppress(TelegramAPIError):
        await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(text, parse_mode=None)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="own_data")
    router.message.register(export, Command("export"))
    router.message.register(forget_me, Command("forget_me"))
    router.callback_query.register(confirmed, ForgetMe.filter())
    return router
