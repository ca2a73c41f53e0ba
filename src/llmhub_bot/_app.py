"""Building the bot and running it by long polling or by webhook."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.i18n import SimpleI18nMiddleware

from llmhub import Hub, load_environment, read_settings

from . import _access, _commands, _dialog, _models_menu
from ._flood import RetryAfterMiddleware
from ._i18n import make_i18n
from ._runtime import Runtime
from ._settings import BotSettings

__all__ = ["ALLOWED_UPDATES", "create_bot_and_dispatcher", "run_polling", "run_webhook"]

log = logging.getLogger("llmhub_bot")

#: `stopped_message_generation` must be asked for: it carries the stop button.
ALLOWED_UPDATES = ["message", "callback_query", "stopped_message_generation"]


def create_bot_and_dispatcher(
    settings: BotSettings | None = None, hub: Hub | None = None
) -> tuple[Bot, Dispatcher]:
    """The plan's factory: a Bot and a Dispatcher with every router and middleware.

    Without `hub`, `run_polling` / `run_webhook` open one from the environment
    before the first update and close it at the end.
    """
    settings = settings or read_settings(BotSettings, load_environment())
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    session.middleware(RetryAfterMiddleware())
    bot = Bot(
        settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(link_preview_is_disabled=True),
    )
    runtime = Runtime(settings)
    dispatcher = Dispatcher(settings=settings, runtime=runtime, hub=hub)
    i18n = make_i18n()
    SimpleI18nMiddleware(i18n).setup(dispatcher)
    access = _access.AccessMiddleware()
    dispatcher.message.outer_middleware(access)
    dispatcher.callback_query.outer_middleware(access)
    dispatcher.include_routers(
        _access.make_router(),
        _commands.make_router(),
        _models_menu.make_router(),
        _dialog.make_router(),
    )

    async def on_startup(bot: Bot) -> None:
        me = await bot.me()
        with i18n.context():
            # English is the source language: it has no catalog, but is the default menu.
            for locale in dict.fromkeys((i18n.default_locale, *i18n.available_locales)):
                with i18n.use_locale(locale):
                    language = None if locale == i18n.default_locale else locale
                    await bot.set_my_commands(_commands.bot_commands(), language_code=language)
        hub: Hub | None = dispatcher["hub"]
        providers = hub.registry.names() if hub is not None else []
        log.info("bot @%s started; providers: %s", me.username, providers)

    dispatcher.startup.register(on_startup)
    return bot, dispatcher


@asynccontextmanager
async def _hub_open(dispatcher: Dispatcher) -> AsyncIterator[None]:
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
    """Long polling (the default): one process per bot token."""
    async with _hub_open(dispatcher):
        await bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(bot, allowed_updates=ALLOWED_UPDATES)


def webhook_secret(settings: BotSettings) -> str:
    """The secret Telegram sends back with every update (derived from the token if unset)."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    assert settings.telegram_bot_token is not None
    return hashlib.sha256(settings.telegram_bot_token.get_secret_value().encode()).hexdigest()[:48]


async def run_webhook(bot: Bot, dispatcher: Dispatcher, settings: BotSettings) -> None:
    """An aiohttp server answering Telegram at once and handling updates in the background."""
    import asyncio

    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    assert settings.webhook_url is not None
    secret = webhook_secret(settings)
    app = web.Application()

    async def healthz(_: web.Request) -> web.Response:
        hub: Hub | None = dispatcher["hub"]
        ok = hub is not None and await hub.store.ping()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    app.router.add_get("/healthz", healthz)
    SimpleRequestHandler(dispatcher, bot, secret_token=secret, handle_in_background=True).register(
        app, path=urlparse(settings.webhook_url).path or "/"
    )
    setup_application(app, dispatcher, bot=bot)

    async with _hub_open(dispatcher):
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
            # Only now that the server listens may Telegram start sending to it.
            await bot.set_webhook(
                settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
