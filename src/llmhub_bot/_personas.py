"""/persona and /system: a chat's system prompt, chosen from presets or written.

The presets live here, one short prompt each, translated like every other
text (the prompt is stored in the language of whoever picked it). The chosen
prompt is kept per chat in the store (`chats.system_prompt`), so it survives
restarts and is shared by replicas, and is sent as the system message of
every request of the chat. In groups only the group's administrators (and the
bot's admins) change it.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import Hub

from ._models_menu import may_choose
from ._runtime import Runtime
from ._topics import conversation_of

__all__ = ["PRESETS", "make_router"]

#: Longest system prompt accepted, in characters.
MAX_SYSTEM_CHARS = 4000

#: (key, button label, prompt): the presets, in the order the menu shows them.
PRESETS: list[tuple[str, object, object]] = [
    (
        "assistant",
        __("Assistant"),
        __("You are a helpful assistant. Answer clearly and briefly; ask when unsure."),
    ),
    (
        "translator",
        __("Translator"),
        __(
            "You are a translator. Translate each message into English; if it is in English,"
            " translate it into Russian. Keep the meaning, tone and formatting; add nothing."
        ),
    ),
    (
        "programmer",
        __("Programmer"),
        __(
            "You are an experienced programmer. Give working code with short explanations,"
            " point out bugs and edge cases, and prefer the standard library."
        ),
    ),
    (
        "editor",
        __("Editor"),
        __(
            "You are an editor. Correct the grammar, spelling and style of each message,"
            " then list the main changes in a few words."
        ),
    ),
    (
        "teacher",
        __("Teacher"),
        __(
            "You are a patient teacher. Explain step by step with simple examples, and end"
            " with a short question that checks understanding."
        ),
    ),
]


class PersonaPick(CallbackData, prefix="persona"):
    key: str


def _keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for key, label, _prompt in PRESETS:
        builder.button(text=str(label), callback_data=PersonaPick(key=key))
    builder.button(text=_("Custom…"), callback_data=PersonaPick(key="custom"))
    builder.button(text=_("None"), callback_data=PersonaPick(key="off"))
    builder.adjust(2)
    return builder.as_markup()


async def persona(message: Message) -> None:
    await message.answer(
        _("Choose how the model should behave in this chat:"),
        reply_markup=_keyboard(),
        parse_mode=None,
    )


async def pick(
    query: CallbackQuery, callback_data: PersonaPick, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    if callback_data.key == "custom":
        await query.answer()
        await message.edit_text(
            _("Send /system followed by your own instructions, e.g. /system Answer in verse."),
            parse_mode=None,
        )
        return
    if not await may_choose(bot, runtime, message.chat.id, message.chat.type, query.from_user.id):
        await query.answer(_("Only group admins change this here."), show_alert=True)
        return
    presets = {key: (label, prompt) for key, label, prompt in PRESETS}
    if callback_data.key == "off":
        await hub.chat(conversation_of(message)).set_system(None)
        await query.answer()
        await message.edit_text(_("This chat has no system prompt now."), parse_mode=None)
        return
    if callback_data.key not in presets:
        await query.answer(_("This menu is out of date; send /persona again."), show_alert=True)
        return
    label, prompt = presets[callback_data.key]
    await hub.chat(conversation_of(message)).set_system(str(prompt))
    await query.answer()
    await message.edit_text(
        _("This chat now uses the {persona} persona.").format(persona=label), parse_mode=None
    )


async def system(
    message: Message, command: CommandObject, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    chat = conversation_of(message)
    text = (command.args or "").strip()
    if not text:
        current = await hub.chat(chat).system()
        if current is None:
            await message.answer(
                _("This chat has no system prompt. Set one with /system <text> or /persona."),
                parse_mode=None,
            )
        else:
            await message.answer(
                _("This chat's system prompt:\n{prompt}\n\n/system off clears it.").format(
                    prompt=current
                ),
                parse_mode=None,
            )
        return
    user_id = message.from_user.id if message.from_user else message.chat.id
    if not await may_choose(bot, runtime, message.chat.id, message.chat.type, user_id):
        await message.answer(_("Only group admins change this here."), parse_mode=None)
        return
    if text.lower() == "off":
        await hub.chat(chat).set_system(None)
        await message.answer(_("This chat has no system prompt now."), parse_mode=None)
        return
    if len(text) > MAX_SYSTEM_CHARS:
        await message.answer(
            _("A system prompt may have up to {limit} characters; this one has {length}.").format(
                limit=MAX_SYSTEM_CHARS, length=len(text)
            ),
            parse_mode=None,
        )
        return
    await hub.chat(chat).set_system(text)
    await message.answer(_("System prompt set for this chat."), parse_mode=None)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="personas")
    router.message.register(persona, Command("persona"))
    router.message.register(system, Command("system"))
    router.callback_query.register(pick, PersonaPick.filter(F.key))
    return router
