"""/models: the configured providers' models as a paged inline keyboard.

Each button carries a short stable key of its model (a hash of
`provider/model`), never a position in a list kept in memory: a menu stays
right whatever another chat opened since, after a restart, and on any replica.
The key is resolved against the models the store has seen listed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub, LLMHubError

from ._runtime import Runtime
from ._topics import conversation_of

__all__ = [
    "ModelPage",
    "ModelPick",
    "catalogue",
    "make_router",
    "may_choose",
    "model_key",
    "model_of",
    "paged_models",
]

PAGE = 8


class ModelPick(CallbackData, prefix="mdl"):
    key: str


def model_key(name: str) -> str:
    """A key of `name` that fits any callback data (64 bytes) and holds no separator."""
    return hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


async def catalogue(hub: Hub) -> list[str]:
    """Every configured provider's models now, as `provider/model` (noted in the store)."""
    catalog = await hub.list_models()
    return [f"{p}/{m}" for p, models in catalog.by_provider.items() for m in models]


async def model_of(hub: Hub, key: str) -> str | None:
    """The model a button's key names, among every model the store has seen listed."""
    for provider, models in (await hub.known_models()).items():
        for model in models:
            name = f"{provider}/{model}"
            if model_key(name) == key:
                return name
    return None


class ModelPage(CallbackData, prefix="mpg"):
    page: int


def paged_models(
    models: list[str],
    page: int,
    current: str | None,
    pick: Callable[[str], CallbackData],
    turn: Callable[[int], CallbackData],
) -> InlineKeyboardBuilder:
    """A page of `models`, one button each (`pick(key)`), and ◀ ▶ (`turn(page)`)."""
    builder = InlineKeyboardBuilder()
    start = page * PAGE
    for name in models[start : start + PAGE]:
        mark = "✅ " if name == current else ""
        builder.button(text=f"{mark}{name}", callback_data=pick(model_key(name)))
    builder.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=turn(page - 1))
    if start + PAGE < len(models):
        nav.button(text="▶", callback_data=turn(page + 1))
    builder.attach(nav)
    return builder


def _keyboard(models: list[str], page: int, current: str | None) -> InlineKeyboardMarkup:
    return paged_models(
        models, page, current, lambda key: ModelPick(key=key), lambda p: ModelPage(page=p)
    ).as_markup()


async def may_choose(
    bot: Bot, runtime: Runtime, chat_id: int, chat_type: str, user_id: int
) -> bool:
    """In groups only bot admins and the group's administrators change the chat's
    settings (its model, its system prompt)."""
    if chat_type == "private" or runtime.is_admin(user_id):
        return True
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in {"creator", "administrator"}


async def show(message: Message, hub: Hub) -> None:
    models = await catalogue(hub)
    if not models:
        await message.answer(
            _("No provider is reachable right now; try again later."), parse_mode=None
        )
        return
    current = await hub.chat(conversation_of(message)).chosen_model()
    await message.answer(
        _("Choose the model for this chat:"),
        reply_markup=_keyboard(models, 0, current),
        parse_mode=None,
    )


async def page(query: CallbackQuery, callback_data: ModelPage, hub: Hub) -> None:
    if isinstance(query.message, Message):
        models = await catalogue(hub)
        current = await hub.chat(conversation_of(query.message)).chosen_model()
        await query.message.edit_reply_markup(
            reply_markup=_keyboard(models, callback_data.page, current)
        )
    await query.answer()


async def pick(
    query: CallbackQuery, callback_data: ModelPick, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    message = query.message
    name = await model_of(hub, callback_data.key)
    if not isinstance(message, Message) or name is None:
        await query.answer(_("This menu is out of date; send /models again."), show_alert=True)
        return
    if not await may_choose(bot, runtime, message.chat.id, message.chat.type, query.from_user.id):
        await query.answer(_("Only group admins change the model here."), show_alert=True)
        return
    try:
        await hub.chat(conversation_of(message)).set_model(name)
    except LLMHubError as exc:
        await query.answer(str(exc)[:190], show_alert=True)
        return
    await query.answer(_("Model: {model}").format(model=name))
    await message.edit_text(_("This chat now uses {model}.").format(model=name), parse_mode=None)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="models")
    router.message.register(show, Command("models"))
    router.callback_query.register(page, ModelPage.filter())
    router.callback_query.register(pick, ModelPick.filter())
    return router
