"""Who may talk to the bot (an access middleware), and the admins' decisions.

`ADMIN_IDS` are always allowed; `ALLOWED_USER_IDS` are pre-approved; anyone
else is asked to wait while every admin gets Approve / Deny buttons. Decisions
are kept in the store's `users` table. Pending and denied users never reach a
provider. In groups, messages not addressed to the bot are dropped here, before
anything is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject, User
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub

from ._i18n import speaking
from ._runtime import Handler, Runtime
from ._users import UserRecord, Users, UserStatus

__all__ = ["AccessDecision", "AccessMiddleware", "is_addressed", "make_router"]

log = logging.getLogger("llmhub_bot.access")


class AccessDecision(CallbackData, prefix="acc"):
    approve: bool
    user_id: int


def is_addressed(message: Message, me: User) -> bool:
    """Whether a group message is for the bot: a command, a mention, or a reply to it."""
    if message.chat.type == "private":
        return True
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    if me.username and f"@{me.username}".lower() in text.lower():
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == me.id)


def _decision_keyboard(user_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Approve"), callback_data=AccessDecision(approve=True, user_id=user_id))
    builder.button(text=_("Deny"), callback_data=AccessDecision(approve=False, user_id=user_id))
    return builder.as_markup()


def _describe(user: User) -> str:
    handle = f" @{user.username}" if user.username else ""
    return f"{user.full_name}{handle} (id {user.id})"


async def _remember(users: Users, user: User, record: UserRecord | None) -> None:
    """Keep a user who may talk in the users table, with their names as they are now:
    `/stats` counts them and `/limit @username` finds them, pre-approved ones too."""
    names = (user.username, user.full_name, user.language_code)
    if record is not None and (record.username, record.full_name, record.language) == names:
        return
    status = record.status if record is not None else "approved"
    await users.upsert(UserRecord(user.id, status, *names))


class AccessMiddleware(BaseMiddleware):
    """Outer middleware on messages and callback queries."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        hub: Hub = data["hub"]
        runtime: Runtime = data["runtime"]
        bot: Bot = data["bot"]
        if user is None or user.is_bot:
            return None
        if isinstance(event, Message) and not is_addressed(event, await bot.me()):
            return None  # group chatter: ignored, not logged
        users = Users(hub.store)
        record = await users.get(user.id)
        if runtime.pre_approved(user.id) or (record is not None and record.status == "approved"):
            await _remember(users, user, record)
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(_("You have no access yet."), show_alert=True)
            return None
        if not isinstance(event, Message):
            return None
        if record is None:
            await self._request_access(bot, hub, runtime, user, event)
        elif record.status == "pending":
            await event.answer(_("Your access request is waiting for an admin."))
        else:
            await event.answer(_("Access denied."))
        return None

    async def _request_access(
        self, bot: Bot, hub: Hub, runtime: Runtime, user: User, message: Message
    ) -> None:
        await Users(hub.store).upsert(
            UserRecord(user.id, "pending", user.username, user.full_name, user.language_code)
        )
        if not runtime.settings.admin_ids:
            await message.answer(
                _(
                    "This bot is private. Ask its owner to add your id {user_id} to ALLOWED_USER_IDS."
                ).format(user_id=user.id)
            )
            return
        users = Users(hub.store)
        for admin in runtime.settings.admin_ids:
            known = await users.get(admin)  # the admin's language, once they wrote
            with speaking(known.language if known is not None else None):
                text = _("{user} asks for access.").format(user=_describe(user))
                keyboard = _decision_keyboard(user.id)
            try:
                await bot.send_message(admin, text, reply_markup=keyboard, parse_mode=None)
            except TelegramAPIError as exc:  # an admin who never started the bot
                log.warning("could not ask admin %s: %s", admin, exc)
        await message.answer(_("Access requested. You will get a message when an admin decides."))


async def on_decision(
    query: CallbackQuery, callback_data: AccessDecision, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    if not runtime.is_admin(query.from_user.id):
        await query.answer(_("Only admins decide on access."), show_alert=True)
        return
    status: UserStatus = "approved" if callback_data.approve else "denied"
    await Users(hub.store).set_status(callback_data.user_id, status)
    log.info("user %s %s by admin %s", callback_data.user_id, status, query.from_user.id)
    verdict = _("approved") if callback_data.approve else _("denied")
    await query.answer(verdict)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            f"{query.message.text or ''}\n→ {verdict}", reply_markup=None, parse_mode=None
        )
    asker = await Users(hub.store).get(callback_data.user_id)
    with speaking(asker.language if asker is not None else None):  # the user's, not the admin's
        text = (
            _("Your access was approved. Send me a message!")
            if callback_data.approve
            else _("Your access request was denied.")
        )
    try:
        await bot.send_message(callback_data.user_id, text, parse_mode=None)
    except TelegramAPIError as exc:
        log.warning("could not tell user %s: %s", callback_data.user_id, exc)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="access")
    router.callback_query.register(on_decision, AccessDecision.filter())
    return router
