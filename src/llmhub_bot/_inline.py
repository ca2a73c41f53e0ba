"""Inline mode: `@bot your question` in any chat offers "Ask <model>"; the chosen
result posts the question with an "answer" button, and the answer then grows under
the question in that same message.

A model is asked only when the button is pressed, never per keystroke (Telegram
sends an inline query as the user types). The question waits in `BotState` for an
hour under a short key (a button's data holds 64 bytes, a question up to 256
characters), so any replica can answer the press. Access and budgets are the
user's own; the exchange is logged in a conversation of its own
(`inline:<user>`), without context: an inline question stands alone.
Inline mode is switched on for the bot in @BotFather (/setinline).
"""

from __future__ import annotations

import contextlib
import hashlib

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from aiogram.utils.i18n import gettext as _

from llmhub import Hub, LLMHubError, Prompt

from ._conveyor import Conveyor
from ._delivery import InlineView
from ._dialog import friendly_error, generate, report
from ._models_menu import current_model, model_label
from ._runtime import Runtime

__all__ = ["InlineAnswer", "make_router"]

#: Seconds a question waits for its "answer" button.
QUESTION_TTL = 3600.0


class InlineAnswer(CallbackData, prefix="il"):
    """The "answer" button under an inline question."""

    key: str


async def on_inline_query(query: InlineQuery, hub: Hub, conveyor: Conveyor) -> None:
    # aiogram's FSM takes the handlers' `state` argument: the bot's is the conveyor's.
    state = conveyor.state
    question = query.query.strip()
    if not question:
        await query.answer(
            [],
            cache_time=0,
            is_personal=True,
            button=InlineQueryResultsButton(
                text=_("Type your question after my name"), start_parameter="inline"
            ),
        )
        return
    user = query.from_user.id
    key = hashlib.blake2b(f"{user}\n{question}".encode(), digest_size=8).hexdigest()
    await state.put_note(f"inline:{key}", question, QUESTION_TTL)
    model = await current_model(hub, user)  # the model of the user's chat with the bot
    title = _("Ask {model}").format(model=model_label(hub, model)) if model else _("Ask")
    button = InlineKeyboardButton(
        text="💬 " + _("answer"), callback_data=InlineAnswer(key=key).pack()
    )
    result = InlineQueryResultArticle(
        id=key,
        title=title,
        description=question[:200],
        input_message_content=InputTextMessageContent(message_text=f"❓ {question}"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )
    await query.answer([result], cache_time=0, is_personal=True)


async def on_answer(
    query: CallbackQuery,
    callback_data: InlineAnswer,
    bot: Bot,
    hub: Hub,
    runtime: Runtime,
    conveyor: Conveyor,
) -> None:
    """The "answer" button: the model's answer under the question, in that message."""
    state = conveyor.state
    question = await state.get_note(f"inline:{callback_data.key}")
    if question is None or query.inline_message_id is None:
        await query.answer(_("This question is too old; ask it again."), show_alert=True)
        return
    with contextlib.suppress(TelegramAPIError):
        await query.answer()
    user = query.from_user.id
    view = InlineView(
        bot, query.inline_message_id, f"❓ {question}", runtime.settings.bot_stream_interval
    )
    prompt = Prompt(
        f"inline:{user}",
        question,
        model=await hub.chat(user).chosen_model(),
        user_id=user,
        context=False,
        # Pressed twice (or on two replicas): one exchange, the second shown from the log.
        request_id=f"tg-inline-{callback_data.key}",
    )
    try:
        await generate(hub, view, prompt, runtime)
    except LLMHubError as exc:
        with contextlib.suppress(TelegramAPIError):
            await view.finish("⚠️ " + friendly_error(exc))
        await report(bot, runtime, user, exc)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="inline")
    router.inline_query.register(on_inline_query)
    router.callback_query.register(on_answer, InlineAnswer.filter())
    return router
