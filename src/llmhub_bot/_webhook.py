"""Running the bot by webhook: the way to run several replicas behind a load balancer.

Each update is admitted (deduplicated and put in its chat's durable queue, see
`_conveyor`) *before* Telegram gets its 2xx; the answer is generated after.
So a replica that dies a moment after answering 2xx loses nothing: another
replica takes its chats over. An update that could not be admitted gets a 5xx,
and Telegram delivers it again.

`/healthz` reports the store and the shared state (200 when both answer, else
503). On SIGTERM the replica stops taking updates (503 with Retry-After, so
Telegram sends them again, to another replica), lets the answers under way
finish for up to `BOT_SHUTDOWN_GRACE` seconds, and hands the rest back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from llmhub import Hub

from ._app import ALLOWED_UPDATES, hub_opened, release, telegram_server, webhook_secret
from ._conveyor import Conveyor
from ._metrics import metrics_handler
from ._settings import BotSettings
from ._startup import Chore, Chores, reach_telegram
from ._state import BotState

__all__ = ["make_webhook_app", "run_webhook"]

log = logging.getLogger("llmhub_bot.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def make_webhook_app(bot: Bot, dispatcher: Dispatcher, settings: BotSettings) -> web.Application:
    """The aiohttp application: Telegram's updates at the webhook URL's path,
    `/healthz` and `/metrics` (Prometheus)."""
    secret = webhook_secret(settings)
    conveyor: Conveyor = dispatcher["conveyor"]
    state: BotState = dispatcher["state"]

    async def receive(request: web.Request) -> web.Response:
        if request.headers.get(SECRET_HEADER) != secret:
            return web.Response(status=401)
        if not conveyor.accepting:
            return web.Response(status=503, headers={"Retry-After": "5"})
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError, RecursionError):  # RecursionError: nested 100k deep
            log.warning("refused a webhook body that is not an update")
            return web.Response(status=400)
        try:
            await dispatcher.feed_update(bot, update)
        except Exception:
            log.exception("update %s not admitted; Telegram will send it again", update.update_id)
            return web.Response(status=500)
        return web.Response(status=200)

    async def healthz(_: web.Request) -> web.Response:
        hub: Hub | None = dispatcher["hub"]
        store = hub is not None and await hub.store.ping()
        shared = await state.ping()
        ok = store and shared and conveyor.accepting
        body = {
            "ok": ok,
            "store": store,
            "state": type(state).__name__,
            "state_ok": shared,
            "accepting": conveyor.accepting,
            "answering": conveyor.busy,
        }
        held = hub.store.held_rows if hub is not None else 0
        if held:  # answering, but log rows wait for the database: degraded, not down
            body["degraded"] = True
            body["held_rows"] = held
        return web.json_response(body, status=200 if ok else 503)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler(dispatcher["metrics"], conveyor.depth))
    assert settings.webhook_url is not None
    app.router.add_post(urlparse(settings.webhook_url).path or "/", receive)
    return app


async def run_webhook(bot: Bot, dispatcher: Dispatcher, settings: BotSettings) -> None:
    """Serve the webhook until SIGTERM or SIGINT, then drain and stop."""
    assert settings.webhook_url is not None
    conveyor: Conveyor = dispatcher["conveyor"]
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    try:
        async with hub_opened(dispatcher):
            await reach_telegram(bot, telegram_server(settings))
            _add_webhook_chores(bot, dispatcher["chores"], settings)
            runner = web.AppRunner(make_webhook_app(bot, dispatcher, settings), access_log=None)
            await runner.setup()
            try:
                # Listening before the start-up hooks, which register the webhook:
                # updates that come earlier (from an earlier run) get 503 and come again.
                conveyor.accepting = False
                await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
                await dispatcher.emit_startup(**dispatcher.workflow_data, bot=bot)
                conveyor.accepting = True
                log.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
                await stopping.wait()
                log.info("stopping: new updates get 503; finishing the answers under way")
                conveyor.accepting = False
            finally:
                with contextlib.suppress(Exception):
                    await dispatcher.emit_shutdown(**dispatcher.workflow_data, bot=bot)
                await runner.cleanup()
    finally:
        await release(bot, dispatcher)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def _add_webhook_chores(bot: Bot, chores: Chores, settings: BotSettings) -> None:
    """Register the webhook (tried until it succeeds: another replica may have done
    it already, and updates keep coming meanwhile), then log what Telegram sees."""
    assert settings.webhook_url is not None
    url = settings.webhook_url

    async def set_webhook(timeout: int) -> None:
        await bot.set_webhook(
            url,
            secret_token=webhook_secret(settings),
            allowed_updates=ALLOWED_UPDATES,
            request_timeout=timeout,
        )

    async def report(timeout: int) -> None:
        info = await bot.get_webhook_info(request_timeout=timeout)
        if info.last_error_message:
            log.warning(
                "Telegram's last delivery to the webhook failed: %s", info.last_error_message
            )
        log.info("webhook: %d updates waiting at Telegram", info.pending_update_count)

    # The chores start with the start-up hooks, once the server listens.
    chores.add(Chore("setWebhook", set_webhook, until_done=True), first=True)
    chores.add(Chore("getWebhookInfo", report))
