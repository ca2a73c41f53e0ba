"""The conversation: a message in, the model's reply streamed out.

History is llmhub's (the store), so it survives restarts; this module only
decides what to send, shows the reply as it grows, and turns errors into a
short message for the user and the details for the admins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, ReplyParameters
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from llmhub import (
    Attachment,
    AuthenticationError,
    ConfigurationError,
    ContentBlockedError,
    EmptyPromptError,
    Hub,
    InsufficientBalanceError,
    LLMHubError,
    ModelNotFoundError,
    Prompt,
    PromptTooLongError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ReasoningEvent,
    Reply,
    StreamInterruptedError,
    ToolCall,
    ToolCallEvent,
    ToolResultEvent,
    UnknownProviderError,
    UnsupportedInputError,
)

from . import _budgets as budgets
from ._answer_buttons import Stop, TryAgain, answer_buttons, stop_button, turn_key
from ._conveyor import Conveyor
from ._delivery import DraftView, EditView, View
from ._media import ReadWith, download, model_reading, switch_keyboard
from ._models_menu import ShowModels, may_choose
from ._notes import context_note
from ._runtime import Runtime
from ._text_files import pdfs_as_text, with_text_files
from ._tools import tool_line, tools_for
from ._topics import conversation_of, topic_of
from ._typing import Typing
from ._voice import transcribe

__all__ = [
    "answer",
    "converse",
    "fallback_note",
    "friendly_error",
    "generate",
    "limit_message",
    "make_router",
    "make_view",
    "report",
    "try_again",
]

log = logging.getLogger("llmhub_bot.dialog")


def friendly_error(exc: LLMHubError) -> str:
    """What the user reads; the details go to the admins."""
    if isinstance(exc, ModelNotFoundError | UnknownProviderError | ConfigurationError):
        return _("This model is unavailable. Choose another one with /models.")
    if isinstance(exc, RateLimitError):
        if exc.retry_after:
            return _("The model is busy. Try again in {seconds} s.").format(
                seconds=int(exc.retry_after) + 1
            )
        return _("The model is busy. Try again in a minute.")
    if isinstance(exc, ProviderTimeoutError):
        return _("The model took too long to answer. Try again, or choose another model.")
    if isinstance(exc, ProviderUnavailableError):
        return _("The model is unavailable right now. Try again, or choose another model.")
    if isinstance(exc, StreamInterruptedError):
        return _("The connection to the model broke off. Try again, or choose another model.")
    if isinstance(exc, ContentBlockedError):
        return _("The provider withheld this answer (safety filter). Try rephrasing.")
    if isinstance(exc, PromptTooLongError):
        return _("Your message is too long ({length} characters; the limit is {limit}).").format(
            length=exc.length, limit=exc.limit
        )
    if isinstance(exc, EmptyPromptError):
        return _("Send me some text.")
    if isinstance(exc, UnsupportedInputError):
        if exc.capable_models:
            return _(
                "This model cannot take this file ({reason}). Models that can: {models}."
            ).format(reason=exc.message, models=", ".join(exc.capable_models[:6]))
        return _("This model cannot take this file ({reason}). /models lists the others.").format(
            reason=exc.message
        )
    if isinstance(exc, AuthenticationError | InsufficientBalanceError):
        return _("The bot's account with this provider has a problem; the admins have been told.")
    return _("Something went wrong; the admins have been told. Try again later.")


#: Failures the user can do something about at once: ask again, or ask another model.
_RETRYABLE = (
    ProviderUnavailableError,
    ProviderTimeoutError,
    RateLimitError,
    StreamInterruptedError,
)


def error_buttons(exc: LLMHubError, *, retry: bool) -> InlineKeyboardMarkup | None:
    """What a failed answer offers: "try again" where a second try may work (and the
    message can be asked again), "another model" where another model may."""
    builder = InlineKeyboardBuilder()
    if retry and isinstance(exc, _RETRYABLE):
        builder.button(text="↻ " + _("try again"), callback_data=TryAgain())
    if isinstance(exc, (*_RETRYABLE, ModelNotFoundError)):
        builder.button(text="🔀 " + _("another model"), callback_data=ShowModels())
    return builder.as_markup() if list(builder.buttons) else None


def fallback_note(reply: Reply) -> str:
    """One line saying that another model answered, and why the others did not."""
    why = {
        "unavailable": _("{model} was unavailable"),
        "timeout": _("{model} did not answer in time"),
        "rate_limited": _("{model} was rate limited"),
        "circuit_open": _("{model} keeps failing and was skipped"),
        "cannot_read": _("{model} cannot read this file"),
    }
    reasons = "; ".join(why[a.outcome].format(model=a.model) for a in reply.attempts)
    return "↪ " + _("Answered by {model}: {reasons}.").format(model=reply.model, reasons=reasons)


async def report(bot: Bot, runtime: Runtime, chat_id: int, exc: LLMHubError) -> None:
    """Tell the admins of a failure, unless the user's own input caused it."""
    if isinstance(exc, EmptyPromptError | PromptTooLongError | UnsupportedInputError):
        return  # the user's own input: the reply told them, nothing for the admins
    details = (
        f"⚠️ {type(exc).__name__} in chat {chat_id}\n"
        f"provider: {exc.provider or '-'}, model: {exc.model or '-'}, request: {exc.request_id or '-'}\n"
        f"{str(exc)[:1000]}"
    )
    log.warning(
        "reply failed chat=%s request=%s error=%s", chat_id, exc.request_id, type(exc).__name__
    )
    for admin in runtime.settings.admin_ids:
        try:
            await bot.send_message(admin, details, parse_mode=None)
        except TelegramAPIError as error:
            log.warning("could not report to admin %s: %s", admin, error)


async def answer(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """A reply to `message`, sent also when the user deleted it meanwhile."""
    await message.answer(
        text,
        parse_mode=None,
        reply_markup=markup,
        reply_parameters=ReplyParameters(
            message_id=message.message_id, allow_sending_without_reply=True
        ),
    )


def _prompt(message: Message, text: str | None, bot_username: str | None) -> str:
    prompt = text if text is not None else (message.text or message.caption or "")
    if bot_username:
        prompt = prompt.replace(f"@{bot_username}", "").strip()
    return prompt


def _quoted(message: Message, bot_id: int) -> Message | None:
    """The message `message` replies to, when it is someone's (the bot's own answers
    are in the chat's context already)."""
    original = message.reply_to_message
    if original is None or (original.from_user is not None and original.from_user.id == bot_id):
        return None
    return original


def _with_quote(prompt: str, message: Message, quoted: Message) -> str:
    """The prompt with what it replies to above it, as a quote with its author: the
    part the user selected (Telegram's `quote`), else the whole text or caption."""
    part = message.quote.text if message.quote is not None else None
    words = part or quoted.text or quoted.caption or ""
    if not words.strip():
        return prompt
    author = quoted.from_user.full_name if quoted.from_user is not None else ""
    lines = words.splitlines() or [""]
    lines[0] = f"{author}: {lines[0]}" if author else lines[0]
    block = "\n".join(f"> {line}" for line in lines)
    return f"{block}\n\n{prompt}" if prompt else block


async def ask(
    message: Message, command: CommandObject, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    if not command.args:
        await message.answer(_("Usage: /ask <question>"), parse_mode=None)
        return
    await converse(message, command.args, bot, hub, runtime)


async def on_message(message: Message, bot: Bot, hub: Hub, runtime: Runtime) -> None:
    await converse(message, None, bot, hub, runtime)


async def converse(
    message: Message, text: str | None, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    """Answer one message; the conveyor runs a chat's messages one at a time, in order."""
    try:
        await _respond(message, text, bot, hub, runtime)
    except LLMHubError as exc:
        markup: InlineKeyboardMarkup | None
        if isinstance(exc, UnsupportedInputError) and exc.input_kind and exc.capable_models:
            markup = switch_keyboard(exc.input_kind, exc.capable_models)
        else:  # "try again" re-reads the message it replies to: not an /ask's argument
            markup = error_buttons(exc, retry=text is None)
        await answer(message, friendly_error(exc), markup)
        await report(bot, runtime, message.chat.id, exc)


async def try_again(query: CallbackQuery, bot: Bot, hub: Hub, runtime: Runtime) -> None:
    """A failure's "try again": the message it replied to, answered once more under
    its own request id (its failed rows are replaced, not added to)."""
    failure = query.message
    original = failure.reply_to_message if isinstance(failure, Message) else None
    if not isinstance(failure, Message) or original is None:
        await query.answer(_("That message is gone; send it again."), show_alert=True)
        return
    with contextlib.suppress(TelegramAPIError):
        await query.answer()
        await failure.edit_reply_markup(reply_markup=None)  # pressed once
    await converse(original, None, bot, hub, runtime)


async def _respond(
    message: Message, text: str | None, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    """Fetch the message's file, pick the view for the chat, and generate."""
    me = await bot.me()
    quoted = _quoted(message, me.id)
    limit = runtime.settings.bot_max_file_bytes
    attachments = await download(message, bot, limit)
    if isinstance(attachments, str):
        await answer(message, attachments)
        return
    if quoted is not None:  # the file of the message replied to goes along too
        theirs = await download(quoted, bot, limit)
        if isinstance(theirs, str):
            await answer(message, theirs)
            return
        attachments = [*theirs, *attachments]
    chat_id = message.chat.id
    words = _prompt(message, text, me.username)
    if quoted is not None:
        words = _with_quote(words, message, quoted)

    def prompt_with(files: list[Attachment], said: str = words) -> Prompt:
        said, others = with_text_files(said, files, hub.settings.max_prompt_chars)
        return Prompt(
            conversation_of(message),
            said,
            user_id=message.from_user.id if message.from_user else chat_id,
            attachments=tuple(others),
            # The same id if this message is answered again after a crash: one pair of rows.
            request_id=f"tg-{me.id}-{chat_id}-{message.message_id}",
        )

    view = make_view(bot, runtime, message.chat, message.message_id, topic_of(message))
    try:
        await generate(hub, view, prompt_with(attachments), runtime)
    except UnsupportedInputError as exc:
        # Refused before anything was sent: a model that reads no PDFs reads their
        # text; one that cannot hear, a voice message's transcript.
        if exc.input_kind == "audio" and message.voice and runtime.settings.bot_transcribe_model:
            await _hear_then_answer(bot, hub, runtime, message, words, attachments, prompt_with)
            return
        as_text = pdfs_as_text(attachments) if exc.input_kind == "pdf" else None
        if as_text is None:
            raise
        await generate(hub, view, prompt_with(as_text), runtime)


async def _hear_then_answer(
    bot: Bot,
    hub: Hub,
    runtime: Runtime,
    message: Message,
    words: str,
    attachments: list[Attachment],
    prompt_with: Callable[[list[Attachment], str], Prompt],
) -> None:
    """A voice message (the last attachment) for a model that cannot hear: its
    transcript, shown to the user, answered by the chat's model."""
    prompt = prompt_with([], words)
    assert runtime.settings.bot_transcribe_model is not None
    heard = await transcribe(
        hub,
        runtime.settings.bot_transcribe_model,
        prompt.chat_id,
        attachments[-1],
        user_id=prompt.user_id,
        request_id=str(prompt.request_id),
    )
    if not heard:
        await answer(message, _("I could not make out any words in this voice message."))
        return
    await answer(message, "🎤 " + heard)  # what the model is answering
    said = f"{words}\n\n{heard}" if words else heard
    view = make_view(bot, runtime, message.chat, message.message_id, topic_of(message))
    await generate(hub, view, prompt_with(attachments[:-1], said), runtime)


def make_view(
    bot: Bot, runtime: Runtime, chat: Chat, reply_to: int | None, topic: int | None = None
) -> DraftView | EditView:
    """How the chat sees the answer grow: a draft in private chats (where the Bot API
    server takes drafts), else an edited message (replying to `reply_to` in groups, in
    the forum `topic` if any)."""
    interval = runtime.settings.bot_stream_interval
    if chat.type != "private":
        return EditView(bot, chat.id, interval, reply_to=reply_to, thread=topic)
    if runtime.drafts:
        return DraftView(bot, chat.id, random.randint(1, 2**31 - 1), runtime)
    return EditView(bot, chat.id, interval, reply_to=None)


#: The finish reasons of an answer cut by the model's output limit (OpenAI-style, Gemini).
_CUT = frozenset({"length", "max_tokens"})


def limit_message(refusal: budgets.Refusal, now: float) -> str:
    """What a user over a limit reads: which limit, and when it resets."""
    left = max(int(refusal.resets_at.timestamp() - now), 60)
    return _(
        "You have reached your limit of {limit}. It resets at {time} UTC (in {hours} h"
        " {minutes} min); /usage shows what you used."
    ).format(
        limit=budgets.limit_label(refusal.limit, refusal.value),
        time=refusal.resets_at.strftime("%Y-%m-%d %H:%M"),
        hours=left // 3600,
        minutes=left % 3600 // 60,
    )


async def generate(hub: Hub, view: View, prompt: Prompt, runtime: Runtime) -> list[Message]:
    """Within the user's budget, stream the answer into `view`, then put the final
    text in place with its buttons; the messages that hold it."""
    # None where there is no chat (inline); in a forum, the answer's topic.
    async with Typing(view.bot, view.chat_id, view.thread) as typing:
        return await _generate(hub, view, prompt, runtime, typing)


async def _generate(
    hub: Hub, view: View, prompt: Prompt, runtime: Runtime, typing: Typing
) -> list[Message]:
    if prompt.request_id is not None:
        logged = await hub.logged_reply(prompt.request_id)
        if logged is not None:
            # Answered before (a crash, or Redis away when the answer was marked done):
            # the same answer again, never a second model call.
            log.info("re-sent from the log chat=%s request=%s", prompt.chat_id, prompt.request_id)
            return await _deliver(view, prompt, logged, logged.text, runtime=runtime)
    if runtime.tools and not prompt.tools:
        tools = await tools_for(hub, prompt.chat_id, prompt.model, runtime.tools)
        prompt = replace(prompt, tools=tools)
    user, request_id = prompt.user_id, prompt.request_id
    if user is None or request_id is None:
        return await _stream_into(hub, view, prompt, runtime, typing)
    now = time.time()
    limits = await budgets.limits_of(hub.store, runtime.settings, user)
    held = limits.any()
    if held:
        refusal = await budgets.hold(hub, runtime.settings, limits, prompt, user, request_id, now)
        if refusal is not None:
            runtime.metrics.outcome("over_limit")
            return await view.finish(limit_message(refusal, now))
    settled = False

    async def count(reply: Reply | None) -> None:
        nonlocal settled
        settled = True
        await budgets.settle(hub.store, user, request_id, reply, time.time(), held=held)

    try:
        return await _stream_into(hub, view, prompt, runtime, typing, count)
    finally:
        if not settled and held:  # failed, stopped, handed over: the hold goes
            await asyncio.shield(
                budgets.settle(hub.store, user, request_id, None, time.time(), held=True)
            )


async def _stream_into(
    hub: Hub,
    view: View,
    prompt: Prompt,
    runtime: Runtime,
    typing: Typing,
    answered: Callable[[Reply | None], Awaitable[None]] | None = None,
) -> list[Message]:
    """Stream the answer into `view` ("typing…" until its first words or tool line);
    once it is whole, `answered(reply)` (counted before it is shown), then the final
    text with its buttons."""
    metrics = runtime.metrics
    text = ""
    started = time.perf_counter()
    first_chunk: float | None = None
    # Something to look at, and to stop, from the first moment (Typing runs beside it).
    await view.begin("⏳", stop_button())
    stream = hub.stream_reply(prompt)
    after_tools = False  # the model's next words start a paragraph of their own
    thinking = False  # the "thinking…" line is shown
    try:
        async with stream:
            async for piece in stream.events():
                if isinstance(piece, ReasoningEvent):
                    if not thinking and not text.strip():
                        thinking = True
                        await typing.stop()
                        await view.update("💭 " + _("thinking…"))
                    continue
                if isinstance(piece, ToolCallEvent):
                    # The round is shown under what was written so far ("🔧 weather…").
                    await typing.stop()
                    await view.update(_with_tool_line(text, piece.call))
                    after_tools = bool(text.strip())
                    continue
                if isinstance(piece, ToolResultEvent):
                    continue
                if first_chunk is None:
                    first_chunk = time.perf_counter() - started
                    await typing.stop()
                if after_tools:
                    text, after_tools = text.rstrip() + "\n\n", False
                text += piece
                await view.update(text)
    except asyncio.CancelledError:
        # The stop button: keep what was written, marked as stopped. A chat handed
        # over to another process (shutdown, lost lease) is answered there instead.
        if view.chat_id in runtime.handing_over:
            await asyncio.shield(view.abandon())
        else:
            metrics.outcome("stopped")
            said = text + "\n\n" if text.strip() else ""
            await asyncio.shield(view.finish(said + _("(stopped)")))
        raise
    except Exception:
        metrics.outcome("error")
        with contextlib.suppress(TelegramAPIError):
            if text.strip():  # what arrived stays, said to be cut; the error is told after it
                await view.finish(text + "\n\n⚠️ " + _("The answer broke off here."))
            else:  # the error is told in a message of its own
                await view.abandon()
        raise
    reply = stream.reply
    if answered is not None:
        await answered(reply)
    note = await context_note(hub, prompt.chat_id) if prompt.context else None
    sent = await _deliver(view, prompt, reply, text, note, runtime=runtime)
    if reply is not None:
        metrics.replied(reply, time.perf_counter() - started, first_chunk)
    log.info("replied chat=%s request=%s chars=%d", prompt.chat_id, stream.request_id, len(text))
    return sent


async def _deliver(
    view: View,
    prompt: Prompt,
    reply: Reply | None,
    text: str,
    note: str | None = None,
    *,
    runtime: Runtime,
) -> list[Message]:
    """The final text in place, with its notes and buttons (and a reasoning model's
    thoughts collapsed above it, where the operator shows them)."""
    final = text if text.strip() else _("(the model returned an empty answer)")
    markup = None
    if note is not None:
        final += "\n\n" + note
    if reply is not None:
        if reply.fell_back:
            final += "\n\n" + fallback_note(reply)
        if reply.request_id is not None:
            markup = answer_buttons(
                turn_key(reply.request_id),
                again=not prompt.attachments,
                cut=reply.finish_reason in _CUT,
            )
    shown = runtime.settings.bot_show_reasoning
    thoughts = reply.reasoning if reply is not None and shown else None
    return await view.finish(final, markup, thoughts)


def _with_tool_line(text: str, call: ToolCall) -> str:
    line = tool_line(call)
    return f"{text}\n\n{line}" if text.strip() else line


async def read_with(
    query: CallbackQuery, callback_data: ReadWith, bot: Bot, hub: Hub, runtime: Runtime
) -> None:
    """A refusal's button: switch the chat to a model that reads the file, and answer
    the file with it (Telegram includes the message the refusal replied to)."""
    refusal = query.message
    name = model_reading(hub, callback_data.kind, callback_data.key)
    if not isinstance(refusal, Message) or name is None:
        await query.answer(_("This menu is out of date; send /models again."), show_alert=True)
        return
    chat = refusal.chat
    if not await may_choose(bot, runtime, chat.id, chat.type, query.from_user.id):
        await query.answer(_("Only group admins change the model here."), show_alert=True)
        return
    await hub.chat(conversation_of(refusal)).set_model(name)
    await query.answer(_("Model: {model}").format(model=name))
    original = refusal.reply_to_message
    if original is None:
        text = _("This chat now uses {model}. The file is gone: send it again.")
    else:
        text = _("This chat now uses {model}.")
    await refusal.edit_text(text.format(model=name), parse_mode=None)
    if original is not None:
        await converse(original, None, bot, hub, runtime)


#: Messages the model is asked to answer: text, and every kind of file.
_ANSWERED = (
    F.text & ~F.text.startswith("/")
    | F.photo
    | F.document
    | F.voice
    | F.audio
    | F.video
    | F.video_note
)


async def stop(message: Message, conveyor: Conveyor) -> None:
    """/stop: the chat's answer under way ends where it is (as the ⏹ button does)."""
    if await conveyor.stop(message.chat.id):
        return  # the answer itself says "(stopped)"
    await answer(message, _("Nothing is being written here."))


async def stop_pressed(query: CallbackQuery, conveyor: Conveyor) -> None:
    """The ⏹ button under a placeholder or a growing answer (groups, and private chats
    without drafts); the answer then says "(stopped)" itself."""
    chat = query.message.chat.id if query.message is not None else None
    stopped = chat is not None and await conveyor.stop(chat)
    with contextlib.suppress(TelegramAPIError):
        await query.answer(_("Stopping…") if stopped else _("This answer is over already."))


async def unknown_command(message: Message, bot: Bot) -> None:
    """A command no handler knows: say so, rather than nothing (in a group, only when
    it names this bot: `/help@other_bot` is another bot's)."""
    command = (message.text or "").split(maxsplit=1)[0]
    name, _at, addressee = command.partition("@")
    me = await bot.me()
    if message.chat.type != "private" and addressee.lower() != (me.username or "").lower():
        return
    await answer(
        message, _("I do not know {command}. /help lists what I can do.").format(command=name)
    )


#: Messages no model reads, each answered with what the bot does read.
_UNREAD = F.sticker | F.animation | F.location | F.venue | F.contact | F.poll | F.dice | F.story


async def unread(message: Message) -> None:
    """A sticker, a GIF, a location, ...: said plainly what the bot reads instead."""
    if message.sticker is not None:
        said = _("I cannot read stickers. Send text, a photo, a file or a voice message.")
    else:
        said = _(
            "I cannot read this kind of message. Send text, a photo, a file or a voice message."
        )
    await answer(message, said)


async def edited(message: Message) -> None:
    """An edited message: each message is answered once (its answer is logged under
    it); the user is told to send the new words as a new message."""
    await answer(
        message, _("I answer each message once; an edit is not answered again. Send it anew.")
    )


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="dialog")
    router.message.register(ask, Command("ask"))
    router.message.register(stop, Command("stop"))
    router.callback_query.register(stop_pressed, Stop.filter())
    router.message.register(on_message, _ANSWERED)
    router.callback_query.register(read_with, ReadWith.filter())
    router.callback_query.register(try_again, TryAgain.filter())
    # Last: a command no router above took (a typo, an old bot's command) is answered.
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(unread, _UNREAD)
    router.edited_message.register(edited, _ANSWERED)
    return router
