"""/models: the configured providers' models as a paged inline keyboard, each
with a readable name, its provider, what it reads and its price class.

Each button carries a short stable key of its model (a hash of
`provider/model`), never a position in a list kept in memory: a menu stays
right whatever another chat opened since, after a restart, and on any replica.
The key is resolved against the models the store has seen listed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub, InputKind, LLMHubError, ModelInfo

from ._runtime import Runtime
from ._topics import conversation_of

__all__ = [
    "ModelPage",
    "ModelPick",
    "ShowModels",
    "catalogue",
    "current_model",
    "make_router",
    "may_choose",
    "menu_text",
    "model_key",
    "model_label",
    "model_line",
    "model_of",
    "paged_models",
    "price_class",
    "readable_name",
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


class ShowModels(CallbackData, prefix="mls"):
    """A button elsewhere ("🔀 another model" under a failure): the menu as a new
    message, the one with the button left as it is."""


#: Words a model id spells in lower case that people write otherwise.
_SPELLED = {"deepseek": "DeepSeek", "gpt": "GPT", "ocr": "OCR", "tts": "TTS", "vl": "VL"}


def readable_name(model: str) -> str:
    """A model id as people write it: "mistral-small-latest" -> "Mistral Small",
    "gemini-2.5-flash" -> "Gemini 2.5 Flash", "deepseek-v4-flash" -> "DeepSeek V4 Flash"."""
    words = [w for w in re.split(r"[-_]", model) if w and w.lower() != "latest"]
    return " ".join(_SPELLED.get(w.lower(), w[:1].upper() + w[1:]) for w in words) or model


def price_class(info: ModelInfo) -> str:
    """ "$" to "$$$" by the price of a million output tokens (under $1, under $5, more);
    "free" at no cost; "" when the price is unknown."""
    if info.price is None:
        return ""
    output = info.price.output
    if output == 0 and info.price.input == 0:
        return _("free")
    return "$" if output < 1 else "$$" if output < 5 else "$$$"


def _kinds(info: ModelInfo) -> str:
    words: dict[InputKind, str] = {
        "text": _("text"),
        "image": _("images"),
        "pdf": "PDF",
        "audio": _("audio"),
        "video": _("video"),
    }
    return ", ".join(word for kind, word in words.items() if info.reads(kind))


def _described(hub: Hub, name: str) -> tuple[str, str, ModelInfo | None]:
    """(the model and its provider as people write them, the model's catalogue entry)
    of `provider/model`."""
    provider, _sep, model = name.partition("/")
    readable = readable_name(model or name)
    try:
        cls = hub.registry.provider_class(provider)
    except LLMHubError:
        return readable, provider, None
    return readable, cls.title or provider.capitalize(), cls.model_info(model)


def model_label(hub: Hub, name: str) -> str:
    """A button's words for `provider/model`: "Mistral Small · Mistral"."""
    readable, provider, _info = _described(hub, name)
    return f"{readable} · {provider}"


def model_line(hub: Hub, name: str) -> str:
    """One model in the menu's text: its name, provider, what it reads, its price class."""
    readable, provider, info = _described(hub, name)
    line = f"• {readable} ({provider})"
    if info is None:
        return line
    details = [_("reads {kinds}").format(kinds=_kinds(info))]
    if price := price_class(info):
        details.append(price)
    return f"{line}: {' · '.join(details)}"


async def current_model(hub: Hub, chat_id: int | str) -> str | None:
    """The `provider/model` the chat's next prompt goes to (chosen, else the default)."""
    try:
        provider, model = hub.registry.resolve(await hub.chat(chat_id).model())
    except LLMHubError:
        return None
    return f"{provider.name}/{model}"


def menu_text(hub: Hub, heading: str, models: list[str], page: int, current: str | None) -> str:
    """`heading`, the model in use, and the page's models one line each."""
    lines = [heading]
    if current is not None:
        lines.append(_("Now: {model}.").format(model=model_label(hub, current)))
    lines.append("")
    lines += [model_line(hub, name) for name in models[page * PAGE : (page + 1) * PAGE]]
    return "\n".join(lines)


def paged_models(
    hub: Hub,
    models: list[str],
    page: int,
    current: str | None,
    pick: Callable[[str], CallbackData],
    turn: Callable[[int], CallbackData],
) -> InlineKeyboardBuilder:
    """A page of `models`, one button each (`pick(key)`, the one in use marked ✅), and
    ◀ ▶ (`turn(page)`)."""
    builder = InlineKeyboardBuilder()
    start = page * PAGE
    for name in models[start : start + PAGE]:
        mark = "✅ " if name == current else ""
        builder.button(text=f"{mark}{model_label(hub, name)}", callback_data=pick(model_key(name)))
    builder.adjust(1)
    nav = InlineKeyboardBuilder()
    if page > 0:
        nav.button(text="◀", callback_data=turn(page - 1))
    if start + PAGE < len(models):
        nav.button(text="▶", callback_data=turn(page + 1))
    builder.attach(nav)
    return builder


def _keyboard(hub: Hub, models: list[str], page: int, current: str | None) -> InlineKeyboardMarkup:
    return paged_models(
        hub, models, page, current, lambda key: ModelPick(key=key), lambda p: ModelPage(page=p)
    ).as_markup()


def _menu(
    hub: Hub, models: list[str], page: int, current: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    """/models' text and keyboard at `page`."""
    text = menu_text(hub, _("Choose the model for this chat."), models, page, current)
    return text, _keyboard(hub, models, page, current)


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
    """/models: the menu's first page."""
    models = await catalogue(hub)
    if not models:
        await message.answer(
            _("No provider is reachable right now; try again later."), parse_mode=None
        )
        return
    text, markup = _menu(hub, models, 0, await current_model(hub, conversation_of(message)))
    await message.answer(text, reply_markup=markup, parse_mode=None)


async def show_pressed(query: CallbackQuery, hub: Hub) -> None:
    if isinstance(query.message, Message):
        await show(query.message, hub)
    await query.answer()


async def page(query: CallbackQuery, callback_data: ModelPage, hub: Hub) -> None:
    if isinstance(query.message, Message):
        models = await catalogue(hub)
        current = await current_model(hub, conversation_of(query.message))
        text, markup = _menu(hub, models, callback_data.page, current)
        await query.message.edit_text(text, reply_markup=markup, parse_mode=None)
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
    router.callback_query.register(show_pressed, ShowModels.filter())
    router.callback_query.register(pick, ModelPick.filter())
    return router
