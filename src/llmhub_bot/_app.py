"""Building the bot and running it by long polling or by webhook."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import BotCommandScope, BotCommandScopeAllGroupChats, BotCommandScopeChat
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware
from aiohttp import web

from llmhub import Hub, Tool, load_environment, read_settings
from llmhub.store import redact_url

from . import (
    _access,
    _budget_commands,
    _commands,
    _dialog,
    _inline,
    _models_menu,
    _own_data,
    _personas,
    _regenerate,
)
from ._answer_buttons import Again, AgainWith, Continue, TryAgain
from ._conveyor import Conveyor
from ._flood import RetryAfterMiddleware
from ._i18n import make_i18n
from ._metrics import Metrics, metrics_app
from ._read_link import READ_LINK, LinkReader, allowed_networks
from ._runtime import Runtime
from ._settings import BotSettings
from ._startup import Chore, Chores, reach_telegram
from ._state import BotState, state_for
from ._tables import SCHEMA as BOT_SCHEMA
from ._tools import load_tools

__all__ = [
    "ALLOWED_UPDATES",
    "create_bot_and_dispatcher",
    "release",
    "run_polling",
    "webhook_secret",
]

#: The buttons answered through the chat's queue, like messages: those that ask a
#: model, and the confirmation of /forget_me (after any answer under way).
QUEUED_BUTTONS = frozenset(
    {
        Again.__prefix__,
        AgainWith.__prefix__,
        Continue.__prefix__,
        TryAgain.__prefix__,
        _own_data.ForgetMe.__prefix__,
    }
)
#: The commands answered in the chat's order, after any answer under way: those that
#: ask a model. The others (/new, /help, /usage, /models, ...) are answered at once.
QUEUED_COMMANDS = frozenset({"ask"})

log = logging.getLogger("llmhub_bot")

#: `stopped_message_generation` must be asked for: it carries the stop button.
ALLOWED_UPDATES = [
    "message",
    "edited_message",
    "callback_query",
    "inline_query",
    "stopped_message_generation",
]


def create_bot_and_dispatcher(
    settings: BotSettings | None = None,
    hub: Hub | None = None,
    state: BotState | None = None,
    tools: Sequence[Tool] | None = None,
) -> tuple[Bot, Dispatcher]:
    """A Bot and a Dispatcher with every router and middleware.

    Without `hub`, `run_polling` / `run_webhook` open one from the environment
    before the first update and close it at the end. Without `state`, it is
    Redis when `REDIS_URL` is set, else in this process; it is closed at shutdown.
    """
    settings = settings or read_settings(BotSettings, load_environment())
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token.get_secret_value()
    if state is None:
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        state = state_for(redis_url, token)
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    handing_over: set[int] = set()
    conveyor = Conveyor(
        state,
        settings,
        queued_buttons=QUEUED_BUTTONS,
        queued_commands=QUEUED_COMMANDS,
        handing_over=handing_over,
    )
    metrics = Metrics(replica=conveyor.owner)
    conveyor.metrics = metrics
    session.middleware(RetryAfterMiddleware(state=state, on_wait=metrics.flood_waited))
    bot = Bot(
        token,
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )
    runtime = Runtime(settings, metrics, handing_over=handing_over)
    if tools is None:
        allowed = allowed_networks(settings.bot_read_link_allow)
        own = {READ_LINK: lambda: LinkReader(allowed).tool()}
        tools = load_tools(settings.bot_tools, own)
    runtime.tools = tuple(tools)
    i18n = make_i18n()
    chores = Chores(_menu_chores(bot, i18n, settings.admin_ids))
    dispatcher = Dispatcher(
        settings=settings,
        runtime=runtime,
        hub=hub,
        state=state,
        conveyor=conveyor,
        chores=chores,
        metrics=metrics,
    )
    language = SimpleI18nMiddleware(i18n).setup(dispatcher)
    # The conveyor admits updates before any router sees them, in the user's language.
    dispatcher.update.outer_middleware(language)
    dispatcher.update.outer_middleware(conveyor)
    access = _access.AccessMiddleware()
    dispatcher.message.outer_middleware(access)
    dispatcher.callback_query.outer_middleware(access)
    dispatcher.edited_message.outer_middleware(access)
    dispatcher.inline_query.outer_middleware(access)
    dispatcher.include_routers(
        _access.make_router(),
        _commands.make_router(),
        _budget_commands.make_router(),
        _own_data.make_router(),
        _models_menu.make_router(),
        _personas.make_router(),
        _regenerate.make_router(),
        _inline.make_router(),
        _dialog.make_router(),
    )

    async def on_startup(bot: Bot) -> None:
        # The one call the bot cannot do without: it proves the token.
        me = await bot.me()
        hub: Hub | None = dispatcher["hub"]
        if hub is not None:  # the bot's own tables, before the first update
            await hub.store.use_schema(BOT_SCHEMA)
        conveyor.start(bot, dispatcher)
        chores.start()
        providers = hub.registry.names() if hub is not None else []
        log.info("bot @%s started; providers: %s", me.username, providers)

    async def on_shutdown() -> None:
        await chores.aclose()
        cancelled = await conveyor.drain(settings.bot_shutdown_grace)
        if cancelled:
            log.warning("handed back %d unfinished chats", cancelled)
        await state.aclose()

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)
    return bot, dispatcher


def _menu_chores(bot: Bot, i18n: I18n, admins: frozenset[int]) -> list[Chore]:
    """The command menus (private chats, groups, each admin's chat: Telegram's command
    scopes) and the descriptions, in every language the bot speaks."""
    chores = []
    with i18n.context():
        # English is the source language: it has no catalog, but is the default menu.
        for locale in dict.fromkeys((i18n.default_locale, *i18n.available_locales)):
            with i18n.use_locale(locale):
                commands = _commands.bot_commands("private")
                in_groups = _commands.bot_commands("group")
                for_admins = _commands.bot_commands("admin")
                about = str(_commands.DESCRIPTION)
                short = str(_commands.SHORT_DESCRIPTION)
            lang = None if locale == i18n.default_locale else locale
            groups = BotCommandScopeAllGroupChats()
            chores += [
                Chore(f"setMyCommands({locale})", _call(bot.set_my_commands, commands, lang)),
                Chore(
                    f"setMyCommands({locale}, groups)",
                    _call(bot.set_my_commands, in_groups, lang, groups),
                ),
                *(
                    Chore(
                        f"setMyCommands({locale}, admin {admin})",
                        _call(
                            bot.set_my_commands,
                            for_admins,
                            lang,
                            BotCommandScopeChat(chat_id=admin),
                        ),
                    )
                    for admin in sorted(admins)
                ),
                Chore(f"setMyDescription({locale})", _call(bot.set_my_description, about, lang)),
                Chore(
                    f"setMyShortDescription({locale})",
                    _call(bot.set_my_short_description, short, lang),
                ),
            ]
    return chores


def _call(
    method: Callable[..., Awaitable[object]],
    value: object,
    language: str | None,
    scope: BotCommandScope | None = None,
) -> Callable[[int], Awaitable[object]]:
    """`method(value, language_code=language)` (for `scope`, if one is given) with the
    request timeout it is given."""
    where = {"scope": scope} if scope is not None else {}

    async def call(timeout: int) -> object:
        return await method(value, language_code=language, request_timeout=timeout, **where)

    return call


async def release(bot: Bot, dispatcher: Dispatcher) -> None:
    """Close what the bot holds, also when it stopped before its shutdown hooks ran."""
    chores: Chores = dispatcher["chores"]
    state: BotState = dispatcher["state"]
    try:
        await chores.aclose()
        await state.aclose()
    finally:
        await bot.session.close()


@asynccontextmanager
async def hub_opened(dispatcher: Dispatcher) -> AsyncIterator[None]:
    """Open a hub from the environment unless one was given, before any update.

    Not in a startup hook: aiogram's polling hands handlers a copy of the
    dispatcher's data taken before the startup hooks run.
    """
    if dispatcher["hub"] is not None:
        yield
        return
    hub = await Hub.open()
    dispatcher["hub"] = hub
    try:
        yield
    finally:
        dispatcher["hub"] = None
        await hub.aclose()


async def run_polling(bot: Bot, dispatcher: Dispatcher) -> None:
    """Long polling (the default): one process per bot token; `/metrics` on
    `BOT_METRICS_PORT` when it is set."""
    settings: BotSettings = dispatcher["settings"]
    runner: web.AppRunner | None = None
    try:
        if settings.bot_metrics_port is not None:
            conveyor: Conveyor = dispatcher["conveyor"]
            runner = web.AppRunner(metrics_app(dispatcher["metrics"], conveyor.depth))
            await runner.setup()
            await web.TCPSite(runner, settings.bot_metrics_host, settings.bot_metrics_port).start()
            log.info("metrics on %s:%s", settings.bot_metrics_host, settings.bot_metrics_port)
        async with hub_opened(dispatcher):
            await reach_telegram(bot, telegram_server(settings))
            await bot.delete_webhook(drop_pending_updates=False)
            await dispatcher.start_polling(bot, allowed_updates=ALLOWED_UPDATES)
    finally:
        if runner is not None:
            await runner.cleanup()
        await release(bot, dispatcher)


def telegram_server(settings: BotSettings) -> str:
    """The Bot API server the bot talks to, as the log names it."""
    return redact_url(settings.telegram_api_url or "https://api.telegram.org")


def webhook_secret(settings: BotSettings) -> str:
    """The secret Telegram sends back with every update (derived from the token if unset)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    assert settings.telegram_bot_token is not None
    return hashlib.sha256(settings.telegram_bot_token.get_secret_value().encode()).hexdigest()[:48]
