"""The answer's buttons at work: answer the same prompt again (with the chat's model
or another), or continue an answer the output limit cut.

"Again" replaces the answer in the context (`Prompt.replaces`): the new answer is
generated without it and takes its place once it arrives; a failure leaves the
chat as it was. "Continue" is a turn of its own, so the context keeps both parts
in order. Either works only on the chat's latest turn: a button on an older
answer says so and goes away.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from llmhub import Hub, LLMHubError, Prompt

from ._answer_buttons import (
    Again,
    AgainWith,
    ChooseAgain,
    Continue,
    ShowButtons,
    answer_buttons,
    turn_key,
)
from ._dialog import friendly_error, generate, make_view, report
from ._models_menu import catalogue, current_model, model_of, paged_models
from ._runtime import Runtime
from ._topics import conversation_of, topic_of

__all__ = ["CONTINUE_PROMPT", "make_router"]

log = logging.getLogger("llmhub_bot.regenerate")

#: What "continue" asks the model (in the log as the turn's prompt).
CONTINUE_PROMPT = (
    "Continue your previous answer exactly where it stopped, without repeating any of it."
)


async def _quietly(call: Awaitable[object]) -> None:
    """Await a courtesy call to Telegram (a late callback answer, a button removal)."""
    with contextlib.suppress(TelegramAPIError):
        await call


async def _answer_again(
    query: CallbackQuery,
    turn: str,
    bot: Bot,
    hub: Hub,
    runtime: Runtime,
    *,
    model: str | None = None,
    cont: bool = False,
) -> None:
    answer = query.message
    if not isinstance(answer, Message):
        await _quietly(query.answer(_("This message is too old."), show_alert=True))
        return
    chat = answer.chat
    conversation = hub.chat(conversation_of(answer))
    latest = await conversation.last_turn()
    if latest is None or turn_key(latest.request_id) != turn:
        await _quietly(answer.edit_reply_markup(reply_markup=None))
        await _quietly(
            query.answer(
                _("This answer is no longer the latest in the conversation; ask again instead."),
                show_alert=True,
            )
        )
        return
    await _quietly(query.answer())
    me = await bot.me()
    # The prompt asked again is its author's words: its rows are the author's (so the
    # author's /forget_me takes them), whoever pressed; "continue" is the presser's.
    author = None if cont else await conversation.author(latest.request_id)
    prompt = Prompt(
        conversation.id,
        CONTINUE_PROMPT if cont else latest.prompt,
        model,
        user_id=author if author is not None else query.from_user.id,
        # The press's own id: answered again after a crash, it keeps one pair of rows.
        request_id=f"tg-{me.id}-{chat.id}-cb{query.id}",
        replaces=None if cont else latest.request_id,
    )
    try:
        view = make_view(bot, runtime, chat, answer.message_id, topic_of(answer))
        await generate(hub, view, prompt, runtime)
    except LLMHubError as exc:
        await bot.send_message(chat.id, friendly_error(exc), parse_mode=None)
        await report(bot, runtime, chat.id, exc)
        return
    # The old answer is replaced or continued: its buttons would now be stale.
    await _quietly(answer.edit_reply_markup(reply_markup=None))


async def again(
    query: CallbackQuery, callback_data: Again, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    await _answer_again(query, callback_data.turn, bot, hub, runtime)


async def again_with(
    query: CallbackQuery, callback_data: AgainWith, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    name = await model_of(hub, callback_data.key)
    if name is None:
        await _quietly(
            query.answer(_("This menu is out of date; send /models again."), show_alert=True)
        )
        return
    await _answer_again(query, callback_data.turn, bot, hub, runtime, model=name)


async def go_on(
    query: CallbackQuery, callback_data: Continue, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    await _answer_again(query, callback_data.turn, bot, hub, runtime, cont=True)


def _models_keyboard(
    hub: Hub, models: list[str], data: ChooseAgain, current: str | None
) -> InlineKeyboardMarkup:
    builder = paged_models(
        hub,
        models,
        data.page,
        current,
        lambda key: AgainWith(turn=data.turn, key=key),
        lambda page: ChooseAgain(turn=data.turn, cut=data.cut, page=page),
    )
    builder.row()
    builder.button(text="✕ " + _("back"), callback_data=ShowButtons(turn=data.turn, cut=data.cut))
    return builder.as_markup()


async def choose(query: CallbackQuery, callback_data: ChooseAgain, hub: Hub) -> None:
    """ "↻ with …": the models in place of the answer's buttons."""
    answer = query.message
    models = await catalogue(hub)
    if not isinstance(answer, Message) or not models:
        await _quietly(
            query.answer(_("No provider is reachable right now; try again later."), show_alert=True)
        )
        return
    current = await current_model(hub, conversation_of(answer))
    markup = _models_keyboard(hub, models, callback_data, current)
    await answer.edit_reply_markup(reply_markup=markup)
    await _quietly(query.answer())


async def back(query: CallbackQuery, callback_data: ShowButtons) -> None:
    if isinstance(query.message, Message):
        markup = answer_buttons(callback_data.turn, again=True, cut=callback_data.cut)
        await query.message.edit_reply_markup(reply_markup=markup)
    await _quietly(query.answer())


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="regenerate")
    router.callback_query.register(again, Again.filter())
    router.callback_query.register(again_with, AgainWith.filter())
    router.callback_query.register(go_on, Continue.filter())
    router.callback_query.register(choose, ChooseAgain.filter())
    router.callback_query.register(back, ShowButtons.filter())
    return router
