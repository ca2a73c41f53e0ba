"""/start, /help, /ping, /model, /new, /clear, /context, /stats (/persona and /system
are in `_personas`, /models in `_models_menu`, /usage and /limit in `_budget_commands`)."""

from __future__ import annotations

import time
from typing import Literal

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import BotCommand, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

import llmhub
from llmhub import ChatId, Hub, LLMHubError, format_usd

from . import _budgets as budgets
from ._access import status_word
from ._budget_commands import spent_line
from ._notes import forget_notes
from ._runtime import Runtime
from ._tools import tool_help
from ._topics import conversation_of
from ._users import Users

__all__ = ["COMMANDS", "DESCRIPTION", "SHORT_DESCRIPTION", "bot_commands", "make_router"]

#: What an empty chat with the bot shows (at most 512 characters).
DESCRIPTION = __(
    "I answer with large language models (Mistral, DeepSeek, Gemini): send me a question,"
    " a voice message, a photo or a document. /models chooses the model, /new starts over, /help lists"
    " everything."
)
#: The bot's profile line (at most 120 characters).
SHORT_DESCRIPTION = __("Chat with Mistral, DeepSeek and Gemini models.")


#: Every command with its one-line help, in the order `/help` shows them.
COMMANDS: list[tuple[str, object]] = [
    ("start", __("welcome, or ask for access")),
    ("help", __("this list")),
    ("models", __("choose this chat's model")),
    ("model", __("the model and provider in use")),
    ("persona", __("how the model behaves here: assistant, translator, …")),
    ("system", __("this chat's system prompt: /system <text>, /system off")),
    ("new", __("start a new conversation")),
    ("stop", __("stop the answer being written")),
    ("clear", __("forget this chat's context (same as /new)")),
    ("context", __("what the next request will carry")),
    ("ask", __("ask in a group: /ask <question>")),
    ("usage", __("your tokens and cost today and this month, and your limits")),
    ("export", __("this conversation as a Markdown file")),
    ("forget_me", __("delete everything the bot keeps of yours")),
    ("ping", __("is the bot alive?")),
    ("stats", __("usage per provider and top users (admins)")),
    ("limit", __("set a user's limits: /limit <id|@name|all> 200k/day $5/month (admins)")),
    ("group", __("let a whole group in or out: /group approve|revoke [id] (admins)")),
]


#: The commands only admins use; `/help` and the menu show them to admins alone.
ADMIN_ONLY = frozenset({"stats", "limit", "group"})
#: The commands that mean nothing in a group (they are about one person's chat).
PRIVATE_ONLY = frozenset({"start", "forget_me"})

Audience = Literal["private", "group", "admin"]


def commands_for(audience: Audience) -> list[tuple[str, object]]:
    """The commands `/help` and the menu show: in a private chat, in a group, to an admin
    (in a private chat)."""
    return [
        (name, text)
        for name, text in COMMANDS
        if (audience == "admin" or name not in ADMIN_ONLY)
        and (audience != "group" or name not in PRIVATE_ONLY)
    ]


def bot_commands(audience: Audience = "private") -> list[BotCommand]:
    return [
        BotCommand(command=name, description=str(text)) for name, text in commands_for(audience)
    ]


async def _current_model(hub: Hub, chat_id: ChatId) -> str:
    try:
        return await hub.chat(chat_id).model()
    except LLMHubError:
        return _("none available")


async def start(message: Message, hub: Hub) -> None:
    model = await _current_model(hub, conversation_of(message))
    await message.answer(
        _(
            "Hello, {name}! Send me a message and I will answer with {model}.\n"
            "/models changes the model, /new starts over, /help lists everything."
        ).format(name=message.from_user.first_name if message.from_user else "", model=model),
        parse_mode=None,
    )


async def help_(message: Message, bot: Bot, runtime: Runtime) -> None:
    audience: Audience = "group" if message.chat.type != "private" else "private"
    user = message.from_user.id if message.from_user else None
    if audience == "private" and runtime.is_admin(user):
        audience = "admin"
    lines = [f"/{name} — {text}" for name, text in commands_for(audience)]
    me = await bot.me()
    lines += [
        "",
        _(
            "Besides commands:\n"
            "• send text, a photo, a file (code, CSV, JSON, PDF, …) or a voice message;\n"
            "• reply to a message to ask about it; in groups, mention me or use /ask;\n"
            "• ⏹ stops an answer as it is written; ↻ asks again, with this model or another;\n"
            "• in any chat, type @{bot} and a question to ask inline."
        ).format(bot=me.username or ""),
    ]
    if runtime.tools:
        lines += ["", _("Tools the model can use here:")]
        lines += [tool_help(tool) for tool in runtime.tools]
    await message.answer("\n".join(lines), parse_mode=None)


async def ping(message: Message, hub: Hub, runtime: Runtime) -> None:
    uptime = int(time.monotonic() - runtime.started_at)
    store = _("ok") if await hub.store.ping() else _("NOT reachable")
    await message.answer(
        _("pong — llmhub {version}, up {uptime} s, store {store}").format(
            version=llmhub.__version__, uptime=uptime, store=store
        ),
        parse_mode=None,
    )


async def model(message: Message, hub: Hub) -> None:
    name = await _current_model(hub, conversation_of(message))
    try:
        provider = hub.registry.resolve(name)[0].name
    except LLMHubError:
        provider = "?"
    await message.answer(
        _("Model: {model} (provider: {provider})").format(model=name, provider=provider),
        parse_mode=None,
    )


async def new(message: Message, hub: Hub) -> None:
    conversation = conversation_of(message)
    await hub.chat(conversation).reset()
    await forget_notes(hub, conversation)
    await message.answer(_("Started a new conversation."), parse_mode=None)


async def context(message: Message, hub: Hub) -> None:
    info = await hub.chat(conversation_of(message)).context()
    turns = _("{n} earlier turn", "{n} earlier turns", n=info.turns).format(n=info.turns)
    chars = _("{n} character", "{n} characters", n=info.chars).format(n=info.chars)
    await message.answer(
        _("The next request carries {turns} ({chars}).").format(turns=turns, chars=chars),
        parse_mode=None,
    )


async def stats(message: Message, command: CommandObject, hub: Hub, runtime: Runtime) -> None:
    if not runtime.is_admin(message.from_user.id if message.from_user else None):
        await message.answer(_("Only admins can see the statistics."), parse_mode=None)
        return
    given = (command.args or "").strip()
    # ASCII digits only ("²".isdigit() is true), and a span the statistics can cover.
    days = min(int(given), 36_500) if given.isascii() and given.isdigit() else 7
    users = await Users(hub.store).count()
    rows = await hub.usage_by_provider(time.time() - days * 86400)
    lines = [
        _("Last {days} days.").format(days=days),
        _("Users: {users}").format(
            users=", ".join(f"{status_word(k)} {v}" for k, v in sorted(users.items())) or "0"
        ),
    ]
    for row in rows:
        line = _("{provider}: {requests} requests, {errors} errors, {tokens} tokens").format(
            provider=row.provider,
            requests=row.requests,
            errors=row.errors,
            tokens=row.prompt_tokens + row.completion_tokens,
        )
        if row.cost_usd is not None:
            line += ", " + _("{cost} spent").format(cost=format_usd(row.cost_usd))
        lines.append(line)
    if not rows:
        lines.append(_("No requests yet."))
    top = await budgets.top_users(hub.store, time.time())
    if top:
        lines.append(_("Top users this month:"))
        for user, username, spent in top:
            name = f"{user} @{username}" if username else str(user)
            lines.append(f"{name}: {spent_line(spent)}")
    await message.answer("\n".join(lines), parse_mode=None)


def make_router() -> Router:
    """This module's handlers on a router of their own (one per dispatcher)."""
    router = Router(name="commands")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(ping, Command("ping"))
    router.message.register(model, Command("model"))
    router.message.register(new, Command("new", "clear"))
    router.message.register(context, Command("context"))
    router.message.register(stats, Command("stats"))
    return router
