"""Who may talk to the bot (an access middleware), and the admins' decisions.

`ADMIN_IDS` are always allowed; `ALLOWED_USER_IDS` are pre-approved; anyone
else is asked to wait while every admin gets Approve / Deny buttons. Decisions
are kept in the bot's `users` table. Pending and denied users never reach a
provider. In groups, messages not addressed to the bot are dropped here, before
anything is logged.

In a group, an unknown member asks for the whole group (`access_groups`): one
request per group, the verdict said in the group (its members may never have
opened a chat with the bot). An approved group's members need no approval of
their own; `/group approve|revoke` lets an admin decide without a request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultsButton,
    Message,
    TelegramObject,
    User,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub

from ._groups import GroupRecord, Groups
from ._i18n import speaking
from ._runtime import Handler, Runtime
from ._users import UserRecord, Users, UserStatus

__all__ = [
    "AccessDecision",
    "AccessMiddleware",
    "GroupDecision",
    "is_addressed",
    "make_router",
    "status_word",
]

log = logging.getLogger("llmhub_bot.access")


class AccessDecision(CallbackData, prefix="acc"):
    approve: bool
    user_id: int


class GroupDecision(CallbackData, prefix="gacc"):
    approve: bool
    chat_id: int


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


def _decision_keyboard(yes: CallbackData, no: CallbackData) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("Approve"), callback_data=yes)
    builder.button(text=_("Deny"), callback_data=no)
    return builder.as_markup()


def _no_access_button() -> InlineQueryResultsButton:
    """What an inline query of someone without access shows: a way to ask for it."""
    return InlineQueryResultsButton(
        text=_("You have no access yet: open the bot to ask for it"), start_parameter="access"
    )


def _chat_of(event: TelegramObject) -> Chat | None:
    if isinstance(event, Message):
        return event.chat
    if isinstance(event, CallbackQuery) and isinstance(event.message, Message):
        return event.message.chat
    return None


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
        denied = record is not None and record.status == "denied"
        chat = _chat_of(event)
        if chat is not None and chat.type != "private" and not denied:
            group = await Groups(hub.store).get(chat.id)
            if group is not None and group.status == "approved":
                return await handler(event, data)  # a member of a group let in as a whole
            if isinstance(event, Message):
                await self._group_access(bot, hub, runtime, user, event, group)
                return None
        if isinstance(event, CallbackQuery):
            await event.answer(_("You have no access yet."), show_alert=True)
            return None
        if isinstance(event, InlineQuery):
            await event.answer([], cache_time=0, is_personal=True, button=_no_access_button())
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

    async def _group_access(
        self,
        bot: Bot,
        hub: Hub,
        runtime: Runtime,
        user: User,
        message: Message,
        group: GroupRecord | None,
    ) -> None:
        """An unknown member in a group that is not let in: the group's request, once."""
        if group is not None and group.status == "denied":
            await message.reply(_("This group has no access to the bot."), parse_mode=None)
            return
        chat = message.chat
        if group is not None or not await Groups(hub.store).request(
            chat.id, chat.title, user.id, user.language_code
        ):
            await message.reply(
                _("This group's access request is waiting for an admin."), parse_mode=None
            )
            return
        if not runtime.settings.admin_ids:
            await message.reply(
                _(
                    "This bot is private. Ask its owner to add your id {user_id} to ALLOWED_USER_IDS."
                ).format(user_id=user.id),
                parse_mode=None,
            )
            return
        await _ask_admins(
            bot,
            hub,
            runtime,
            lambda: _("{user} asks for access for the group {group} (id {id}).").format(
                user=_describe(user), group=chat.title or "", id=chat.id
            ),
            GroupDecision(approve=True, chat_id=chat.id),
            GroupDecision(approve=False, chat_id=chat.id),
        )
        await message.reply(
            _("Access for this group is requested. I will say here when an admin decides."),
            parse_mode=None,
        )

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
        await _ask_admins(
            bot,
            hub,
            runtime,
            lambda: _("{user} asks for access.").format(user=_describe(user)),
            AccessDecision(approve=True, user_id=user.id),
            AccessDecision(approve=False, user_id=user.id),
        )
        await message.answer(_("Access requested. You will get a message when an admin decides."))


async def _ask_admins(
    bot: Bot,
    hub: Hub,
    runtime: Runtime,
    question: Callable[[], str],
    yes: CallbackData,
    no: CallbackData,
) -> None:
    """Every admin gets the `question` (made in their language) with Approve / Deny."""
    users = Users(hub.store)
    for admin in runtime.settings.admin_ids:
        known = await users.get(admin)  # the admin's language, once they wrote
        with speaking(known.language if known is not None else None):
            text = question()
            keyboard = _decision_keyboard(yes, no)
        try:
            await bot.send_message(admin, text, reply_markup=keyboard, parse_mode=None)
        except TelegramAPIError as exc:  # an admin who never started the bot
            log.warning("could not ask admin %s: %s", admin, exc)


async def _by_an_admin(query: CallbackQuery, runtime: Runtime) -> bool:
    """Whether an admin pressed the decision; anyone else is told it is not theirs."""
    if runtime.is_admin(query.from_user.id):
        return True
    await query.answer(_("Only admins decide on access."), show_alert=True)
    return False


async def on_decision(
    query: CallbackQuery, callback_data: AccessDecision, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    if not await _by_an_admin(query, runtime):
        return
    status: UserStatus = "approved" if callback_data.approve else "denied"
    await Users(hub.store).set_status(callback_data.user_id, status)
    log.info("user %s %s by admin %s", callback_data.user_id, status, query.from_user.id)
    await _decided(query, status_word(status))
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


async def _decided(query: CallbackQuery, verdict: str) -> None:
    """The admin's request message says the verdict, its buttons gone."""
    await query.answer(verdict)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            f"{query.message.text or ''}\n→ {verdict}", reply_markup=None, parse_mode=None
        )


async def on_group_decision(
    query: CallbackQuery, callback_data: GroupDecision, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    if not await _by_an_admin(query, runtime):
        return
    status: UserStatus = "approved" if callback_data.approve else "denied"
    await _decide_group(bot, hub, callback_data.chat_id, status)
    await _decided(query, status_word(status))
    log.info("group %s %s by admin %s", callback_data.chat_id, status, query.from_user.id)


async def _decide_group(
    bot: Bot, hub: Hub, chat_id: int, status: UserStatus, title: str | None = None
) -> None:
    """Let the group in (or out) and say so in the group, in its asker's language."""
    groups = Groups(hub.store)
    await groups.set_status(chat_id, status, title)
    group = await groups.get(chat_id)
    with speaking(group.language if group is not None else None):
        text = (
            _("An admin let this group in: everyone here can talk to me now.")
            if status == "approved"
            else _("An admin decided that this group has no access to the bot.")
        )
    try:
        await bot.send_message(chat_id, text, parse_mode=None)
    except TelegramAPIError as exc:  # the bot was removed from the group meanwhile
        log.warning("could not tell group %s: %s", chat_id, exc)


async def group_command(
    message: Message, command: CommandObject, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    """/group [approve|revoke] [chat id]: a whole group's access (admins). In a group it
    is that group; in a private chat, the group whose id follows."""
    user = message.from_user.id if message.from_user else None
    if not runtime.is_admin(user):
        await message.answer(_("Only admins decide on access."), parse_mode=None)
        return
    words = (command.args or "").split()
    action = _ACTIONS.get(words[0].lower(), words[0].lower()) if words else ""
    target: int | None = message.chat.id if message.chat.type != "private" else None
    if len(words) > 1 and words[1].lstrip("-").isdigit():
        target = int(words[1])
    if target is None or action not in {"", "approve", "revoke"}:
        await message.answer(
            _("Usage: /group approve or /group revoke in the group, or with its id here."),
            parse_mode=None,
        )
        return
    if not action:
        group = await Groups(hub.store).get(target)
        now = status_word(group.status if group is not None else "unknown")
        await message.answer(
            _("This group's access: {status}.").format(status=now), parse_mode=None
        )
        return
    title = message.chat.title if target == message.chat.id else None
    decided: UserStatus = "approved" if action == "approve" else "denied"
    await _decide_group(bot, hub, target, decided, title)
    if message.chat.id != target:
        await message.answer(f"{target}: {status_word(decided)}", parse_mode=None)


#: /group's words in the languages the bot speaks.
_ACTIONS = {"одобрить": "approve", "открыть": "approve", "отозвать": "revoke", "закрыть": "revoke"}


def status_word(status: str) -> str:
    """An access status as the reader says it ("approved", "одобрен")."""
    words = {
        "approved": _("approved"),
        "denied": _("denied"),
        "pending": _("waiting for an admin"),
    }
    return words.get(status, _("not asked for"))


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="access")
    router.callback_query.register(on_decision, AccessDecision.filter())
    router.callback_query.register(on_group_decision, GroupDecision.filter())
    router.message.register(group_command, Command("group"))
    return router
