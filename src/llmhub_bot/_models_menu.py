"""/models: the configured providers' models as a paged inline keyboard."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub, LLMHubError

from ._runtime import Runtime

__all__ = ["ModelPage", "ModelPick", "make_router"]

PAGE = 8


class ModelPick(CallbackData, prefix="mdl"):
    index: int


class ModelPage(CallbackData, prefix="mpg"):
    page: int


def _keyboard(models: list[str], page: int, current: str | None) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    start = page * PAGE
    for index, name in enumerate(models[start : start + PAGE], start):
        mark = "✅ " if name == current else ""
        builder.button(text=f"{mark}{name}", callback_data=ModelPick(index=index))
    builder.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=ModelPage(page=page - 1))
    if start + PAGE < len(models):
        nav.button(text="▶", callback_data=ModelPage(page=page + 1))
    builder.attach(nav)
    return builder.as_markup()


async def _may_choose(
    bot: Bot, runtime: Runtime, chat_id: int, chat_type: str, user_id: int
) -> bool:
    """In groups only bot admins and the group's administrators change the model."""
    if chat_type == "private" or runtime.is_admin(user_id):
        return True
    member = await bot.get_chat_member(chat_id, user_id)
    return member.status in {"creator", "administrator"}


async def show(message: Message, hub: Hub, runtime: Runtime) -> None:
    catalog = await hub.list_models()
    runtime.model_menu = [f"{p}/{m}" for p, models in catalog.by_provider.items() for m in models]
    if not runtime.model_menu:
        await message.answer(
            _("No provider is reachable right now; try again later."), parse_mode=None
        )
        return
    current = await hub.store.chat_model(str(message.chat.id))
    await message.answer(
        _("Choose the model for this chat:"),
        reply_markup=_keyboard(runtime.model_menu, 0, current),
        parse_mode=None,
    )


async def page(query: CallbackQuery, callback_data: ModelPage, hub: Hub, runtime: Runtime) -> None:
    if isinstance(query.message, Message):
        current = await hub.store.chat_model(str(query.message.chat.id))
        await query.message.edit_reply_markup(
            reply_markup=_keyboard(runtime.model_menu, callback_data.page, current)
        )
    await query.answer()


async def pick(
    query: CallbackQuery, callback_data: ModelPick, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    message = query.message
    if not isinstance(message, Message) or callback_data.index >= len(runtime.model_menu):
        await query.answer(_("This menu is out of date; send /models again."), show_alert=True)
        return
    if not await _may_choose(bot, runtime, message.chat.id, message.chat.type, query.from_user.id):
        await query.answer(_("Only group admins change the model here."), show_alert=True)
        return
    name = runtime.model_menu[callback_data.index]
    try:
        await hub.set_chat_model(message.chat.id, name)
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
