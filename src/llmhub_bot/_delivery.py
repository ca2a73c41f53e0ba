"""Getting a model's reply to Telegram: formatted, split, streamed.

Formatting never fails to parse: the model's Markdown is converted to plain
text plus `MessageEntity`s (`_markdown`, no MarkdownV2 escaping at all), split
within Telegram's limits, and a part Telegram still refuses is sent again as
plain text.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramNotFound
from aiogram.types import InlineKeyboardMarkup, Message, MessageEntity, ReplyParameters
from aiogram.utils.i18n import gettext as _
from telegramify_markdown import utf16_len

from ._markdown import MAX_ENTITIES, MAX_MESSAGE, to_telegram

if TYPE_CHECKING:
    from aiogram import Bot

    from ._runtime import Runtime

__all__ = ["DraftView", "EditView", "InlineView", "View", "render", "send_long_message"]

log = logging.getLogger("llmhub_bot.delivery")

_PREVIEW = MAX_MESSAGE - 96  # a streamed preview shows the tail of a long reply


#: Characters of a model's thoughts shown above its answer at most (their end, nearest
#: the answer); the log keeps them whole.
THOUGHTS_SHOWN = 1000

Parts = list[tuple[str, list[MessageEntity]]]


def render(markdown: str, thoughts: str | None = None) -> Parts:
    """Telegram messages for `markdown`: (text, entities) pairs, each within the limits;
    a reasoning model's `thoughts`, if given, above it in a collapsed quote."""
    parts = [
        (part, [MessageEntity(**entity.to_dict()) for entity in part_entities])
        for part, part_entities in to_telegram(markdown)
    ]
    return _with_thoughts(parts, thoughts) if thoughts and thoughts.strip() else parts


def _with_thoughts(parts: Parts, thoughts: str) -> Parts:
    """`parts` with "💭 <thoughts>" as an expandable quote on top of the first, or as a
    message of its own before it where the first has no room left."""
    said = thoughts.strip()
    if len(said) > THOUGHTS_SHOWN:
        said = "…" + said[-(THOUGHTS_SHOWN - 1) :]
    block = "💭 " + said
    quote = MessageEntity(type="expandable_blockquote", offset=0, length=utf16_len(block))
    if not parts:
        return [(block, [quote])]
    text, entities = parts[0]
    shift = utf16_len(block) + 2
    if shift + utf16_len(text) > MAX_MESSAGE or len(entities) >= MAX_ENTITIES:
        return [(block, [quote]), *parts]
    moved = [e.model_copy(update={"offset": e.offset + shift}) for e in entities]
    return [(f"{block}\n\n{text}", [quote, *moved]), *parts[1:]]


def _refused_entities(exc: TelegramBadRequest) -> bool:
    text = exc.message.lower()
    return "entit" in text or "parse" in text


async def _send_part(
    bot: Bot,
    chat_id: int,
    text: str,
    entities: list[MessageEntity],
    reply: ReplyParameters | None,
    markup: InlineKeyboardMarkup | None = None,
    thread: int | None = None,
) -> Message:
    try:
        return await bot.send_message(
            chat_id,
            text,
            message_thread_id=thread,
            entities=entities or None,
            parse_mode=None,
            reply_parameters=reply,
            reply_markup=markup,
        )
    except TelegramBadRequest as exc:
        if not entities or not _refused_entities(exc):
            raise
        log.warning("entities refused (%s); sending plain text", exc.message)
        return await bot.send_message(
            chat_id,
            text,
            message_thread_id=thread,
            parse_mode=None,
            reply_parameters=reply,
            reply_markup=markup,
        )


async def _edit_text(
    bot: Bot,
    text: str,
    entities: list[MessageEntity] | None,
    markup: InlineKeyboardMarkup | None = None,
    **where: Any,
) -> bool:
    """Edit a message (`chat_id` and `message_id`, or `inline_message_id`) to `text`;
    entities Telegram refuses are dropped for plain text. False when the message reads
    so already (Telegram's "not modified")."""
    try:
        await bot.edit_message_text(
            text=text, entities=entities, parse_mode=None, reply_markup=markup, **where
        )
    except TelegramBadRequest as exc:
        if "not modified" in exc.message.lower():
            return False
        if entities and _refused_entities(exc):
            return await _edit_text(bot, text, None, markup, **where)
        raise
    return True


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)


async def send_long_message(
    bot: Bot,
    chat_id: int,
    markdown: str,
    *,
    reply_to: int | None = None,
    markup: InlineKeyboardMarkup | None = None,
    thread: int | None = None,
    thoughts: str | None = None,
) -> list[Message]:
    """Send `markdown` as one or more messages (in the forum topic `thread`, if any);
    `markup` goes under the last one; `thoughts` above it, collapsed."""
    sent: list[Message] = []
    reply = _reply_to(reply_to)
    parts = render(markdown, thoughts)
    for i, (text, entities) in enumerate(parts, 1):
        last = markup if i == len(parts) else None
        sent.append(await _send_part(bot, chat_id, text, entities, reply, last, thread))
        reply = None
    return sent


def _preview(text: str) -> str:
    """The text, or its tail under Telegram's limit, counted as Telegram counts (UTF-16)."""
    units = text.encode("utf-16-le", "surrogatepass")
    if len(units) // 2 <= _PREVIEW:
        return text
    tail = units[-(_PREVIEW - 1) * 2 :]
    if 0xDC00 <= int.from_bytes(tail[:2], "little") <= 0xDFFF:  # half a pair: drop it
        tail = tail[2:]
    return "…" + tail.decode("utf-16-le", "surrogatepass")


class _Throttle:
    """At most one update per `interval` seconds, and never the same text twice."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last_at = float("-inf")
        self.last_text = ""

    def due(self, text: str) -> bool:
        now = time.monotonic()
        if not text.strip() or text == self.last_text or now - self.last_at < self.interval:
            return False
        self.last_at, self.last_text = now, text
        return True


def _unsupported(exc: TelegramAPIError) -> bool:
    """Whether a refused draft says this server or bot has no drafts at all (an older
    or self-hosted Bot API, a bot without topic mode), not just that this text was bad."""
    return isinstance(exc, TelegramNotFound) or (
        isinstance(exc, TelegramBadRequest) and "text" not in exc.message.lower()
    )


class DraftView:
    """A private chat: the reply grows in a draft (`sendMessageDraft`) with a stop
    button; the final text is then sent as normal message(s).

    Where drafts are refused, the reply goes on as an edited message (`EditView`),
    and `runtime.drafts` remembers it for every later reply of this process.
    """

    #: Drafts are for private chats: no forum topic.
    thread: int | None = None

    def __init__(self, bot: Bot, chat_id: int, draft_id: int, runtime: Runtime) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.draft_id = draft_id
        self.runtime = runtime
        self._throttle = _Throttle(runtime.settings.bot_stream_interval)
        self._instead: EditView | None = None

    async def begin(self, placeholder: str, stop: InlineKeyboardMarkup) -> None:
        """Show `placeholder` at once, with the draft's own stop button (`stop` is for
        the edited message that stands in where drafts are refused)."""
        if await self._draft(placeholder):
            return
        assert self._instead is not None
        await self._instead.begin(placeholder, stop)

    async def update(self, text: str) -> None:
        if self._instead is not None:
            await self._instead.update(text)
            return
        if self._throttle.due(text) and not await self._draft(text):
            assert self._instead is not None
            await self._instead.update(text)

    async def _draft(self, text: str) -> bool:
        """Show `text` in the draft; False (and an edited message instead from now
        on) where the draft is refused."""
        try:
            await self.bot.send_message_draft(
                self.chat_id, self.draft_id, text=_preview(text), parse_mode=None, can_stop=True
            )
            return True
        except TelegramAPIError as exc:
            if _unsupported(exc) and self.runtime.drafts:
                self.runtime.drafts = False
                log.warning("drafts refused (%s); replies are edited messages instead", exc.message)
            else:
                log.info("draft refused in chat %s: %s", self.chat_id, exc.message)
            self._instead = EditView(
                self.bot, self.chat_id, self.runtime.settings.bot_stream_interval, reply_to=None
            )
            return False

    async def abandon(self) -> None:
        """No answer will follow (a failure told apart, a hand-over): the draft goes
        with the next message; a stand-in placeholder is deleted."""
        if self._instead is not None:
            await self._instead.abandon()

    async def finish(
        self,
        markdown: str,
        markup: InlineKeyboardMarkup | None = None,
        thoughts: str | None = None,
    ) -> list[Message]:
        """Send the final text; `markup` (buttons) goes under its last message, the
        model's `thoughts` (if shown) collapsed above it."""
        if self._instead is not None:
            return await self._instead.finish(markdown, markup, thoughts)
        return await send_long_message(
            self.bot, self.chat_id, markdown, markup=markup, thoughts=thoughts
        )


class EditView:
    """A group (or any chat without drafts): a first message edited as the reply
    grows, at most once per `interval`; the final text replaces it, formatted.

    The previews are a courtesy: one Telegram refuses (a flood wait, a deleted
    message) is skipped. The final text is never lost with them: if the preview
    message cannot be edited any more, the reply is sent as new messages.
    """

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        interval: float,
        reply_to: int | None,
        thread: int | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to = reply_to
        #: The forum topic the answer goes to (a group's topics are conversations apart).
        self.thread = thread
        self._throttle = _Throttle(interval)
        self._message: Message | None = None
        #: The stop button, under the placeholder and every preview until the end.
        self._stop: InlineKeyboardMarkup | None = None
        #: Whether the message still shows the placeholder, not words of the answer.
        self._placeholder = False
        #: Whether the message shows buttons now (the final text may need them gone).
        self._buttons = False

    async def begin(self, placeholder: str, stop: InlineKeyboardMarkup) -> None:
        """Send `placeholder` with the stop button at once; the answer replaces it."""
        self._stop = stop
        try:
            await self._send_first(placeholder)
            self._placeholder = True
        except TelegramAPIError as exc:  # a courtesy: the answer comes all the same
            log.info("placeholder skipped in chat %s: %s", self.chat_id, exc.message)

    async def update(self, text: str) -> None:
        if not self._throttle.due(text):
            return
        preview = _preview(text)
        try:
            if self._message is None:
                await self._send_first(preview)
            else:
                await self._edit(preview, None, self._stop)
            self._placeholder = False
        except TelegramAPIError as exc:
            log.info("preview skipped in chat %s: %s", self.chat_id, exc.message)

    async def _send_first(self, text: str) -> None:
        """The message the answer grows in, with the stop button."""
        self._message = await self.bot.send_message(
            self.chat_id,
            text,
            message_thread_id=self.thread,
            parse_mode=None,
            reply_parameters=_reply_to(self.reply_to),
            reply_markup=self._stop,
        )
        self._buttons = self._stop is not None

    async def abandon(self) -> None:
        """No answer will follow (a failure told in a message of its own, a hand-over):
        a placeholder that shows nothing of the answer is deleted."""
        message, self._message = self._message, None
        if message is None or not self._placeholder:
            return
        try:
            await self.bot.delete_message(self.chat_id, message.message_id)
        except TelegramAPIError as exc:
            log.info("placeholder not deleted in chat %s: %s", self.chat_id, exc.message)

    async def _edit(
        self,
        text: str,
        entities: list[MessageEntity] | None,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        assert self._message is not None
        message_id = self._message.message_id
        if await _edit_text(
            self.bot, text, entities, markup, chat_id=self.chat_id, message_id=message_id
        ):
            self._buttons = markup is not None
        elif markup is not None or self._buttons:  # the text is as it was, the buttons not
            await self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=message_id, reply_markup=markup
            )
            self._buttons = markup is not None

    async def _send_anew(
        self, markdown: str, markup: InlineKeyboardMarkup | None, thoughts: str | None
    ) -> list[Message]:
        """The whole text as new messages (no preview to edit, or none editable)."""
        return await send_long_message(
            self.bot,
            self.chat_id,
            markdown,
            reply_to=self.reply_to,
            markup=markup,
            thread=self.thread,
            thoughts=thoughts,
        )

    async def finish(
        self,
        markdown: str,
        markup: InlineKeyboardMarkup | None = None,
        thoughts: str | None = None,
    ) -> list[Message]:
        """Put the final text in place; `markup` (buttons) goes under its last message,
        the model's `thoughts` (if shown) collapsed above it."""
        parts = render(markdown, thoughts)
        self._stop = None  # written: no stop button any more
        if self._message is None or not parts:
            return await self._send_anew(markdown, markup, thoughts)
        first_text, first_entities = parts[0]
        try:
            await self._edit(
                first_text, first_entities or None, markup if len(parts) == 1 else None
            )
        except TelegramBadRequest as exc:  # the preview was deleted, or is too old to edit
            log.info(
                "preview not editable in chat %s (%s); sending anew", self.chat_id, exc.message
            )
            return await self._send_anew(markdown, markup, thoughts)
        sent = [self._message]
        for i, (text, entities) in enumerate(parts[1:], 2):
            last = markup if i == len(parts) else None
            part = await _send_part(self.bot, self.chat_id, text, entities, None, last, self.thread)
            sent.append(part)
        return sent


class InlineView:
    """An inline message (inline mode, in someone else's chat): the question stays on
    top, the answer grows under it in edits of that one message. It has no chat of
    the bot's: no "typing…", no stop button, no buttons under the answer (a button
    of an inline message does not say which message it is under)."""

    #: No chat the bot writes in: nothing to show "typing…" in.
    chat_id: int | None = None
    thread: int | None = None

    def __init__(self, bot: Bot, inline_message_id: str, header: str, interval: float) -> None:
        self.bot = bot
        self.inline_message_id = inline_message_id
        self.header = header
        self._throttle = _Throttle(interval)

    async def _show(self, text: str, entities: list[MessageEntity] | None = None) -> None:
        await _edit_text(self.bot, text, entities, inline_message_id=self.inline_message_id)

    async def begin(self, placeholder: str, stop: InlineKeyboardMarkup) -> None:
        with contextlib.suppress(TelegramAPIError):
            await self._show(f"{self.header}\n\n{placeholder}")

    async def update(self, text: str) -> None:
        if self._throttle.due(text):
            with contextlib.suppress(TelegramAPIError):
                await self._show(_preview(f"{self.header}\n\n{text}"))

    async def abandon(self) -> None:
        """Nothing to take back: the failure is told in the message itself."""

    async def finish(
        self,
        markdown: str,
        markup: InlineKeyboardMarkup | None = None,
        thoughts: str | None = None,
    ) -> list[Message]:
        """The question and the answer, formatted, in the one message (no thoughts: the
        room is the answer's); an answer longer than a message holds is cut there, and
        says so (the log keeps it whole)."""
        parts = render(f"{self.header}\n\n{markdown}")
        text, entities = parts[0]
        if len(parts) > 1:
            text, entities = _head(text, entities, _PREVIEW)
            text += "\n\n✂️ " + _(
                "The answer is longer than an inline message holds; ask me in our chat."
            )
        await self._show(text, entities or None)
        return []


def _head(text: str, entities: list[MessageEntity], units: int) -> tuple[str, list[MessageEntity]]:
    """The start of `text` within `units` UTF-16 code units, and the entities wholly in it."""
    encoded = text.encode("utf-16-le", "surrogatepass")[: units * 2]
    if len(encoded) >= 2 and 0xD800 <= int.from_bytes(encoded[-2:], "little") <= 0xDBFF:
        encoded = encoded[:-2]  # half a pair: drop it
    kept = [e for e in entities if e.offset + e.length <= len(encoded) // 2]
    return encoded.decode("utf-16-le", "surrogatepass"), kept


#: What an answer is streamed into.
View = DraftView | EditView | InlineView
