"""Webhook mode: the bot's own aiohttp server on 127.0.0.1, fed updates as Telegram would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmhub import Usage
from llmhub_bot import _startup, run_webhook
from llmhub_mistral import MistralProvider
from tests.bot.conftest import ADMIN, World, open_world, scrape
from tests.fakes.telegram_server import FakeBotAPI

SECRET = "webhook-secret-for-tests"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _serving(tmp_path: Path) -> AsyncIterator[tuple[World, str]]:
    """A world answering by webhook on a free port: (the world, the webhook's URL)."""
    port = _free_port()
    settings: dict[str, Any] = {
        "webhook_url": "https://bot.example.org/telegram/hook",
        "webhook_host": "127.0.0.1",
        "webhook_port": port,
        "webhook_secret": SECRET,
    }
    async with open_world(tmp_path, polling=False, **settings) as world:
        server = asyncio.create_task(run_webhook(world.bot, world.dispatcher, world.settings))
        try:
            await world.tg.wait_for(lambda tg: bool(tg.sent("setWebhook")))
            yield world, f"http://127.0.0.1:{port}/telegram/hook"
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


async def test_webhook_checks_the_secret_and_answers_in_the_background(tmp_path: Path) -> None:
    async with _serving(tmp_path) as (world, hook):
        registered = world.tg.sent("setWebhook")[0]
        assert registered["url"] == "https://bot.example.org/telegram/hook"
        assert registered["secret_token"] == SECRET
        assert "stopped_message_generation" in registered["allowed_updates"]

        base = hook.removesuffix("/telegram/hook")
        update = {"update_id": 1, **world.tg.message(ADMIN, "via webhook")}
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as health:
                assert health.status == 200
                assert await health.json() == {
                    "ok": True,
                    "store": True,
                    "state": "MemoryState",
                    "state_ok": True,
                    "accepting": True,
                    "answering": 0,
                }
            headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
            async with http.post(f"{base}/telegram/hook", json=update, headers=headers) as refused:
                assert refused.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with http.post(f"{base}/telegram/hook", json=update, headers=headers) as taken:
                assert taken.status == 200

        await world.tg.wait_for(lambda tg: "echo: via webhook" in tg.texts(ADMIN))
        assert len(world.llm.requests) == 1  # the refused update was never handled

        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as scraped:
            assert scraped.status == 200
            assert scraped.headers["Content-Type"].startswith("text/plain")
            samples = scrape(await scraped.text())
        replica = world.dispatcher["conveyor"].owner
        assert samples[("llmhub_bot_updates_received_total", (("replica", replica),))] == 1
        assert samples[("llmhub_bot_updates_answered_total", (("replica", replica),))] == 1
        assert samples[("llmhub_bot_replies_total", (("outcome", "ok"),))] == 1
        model = (("model", "mistral-small-latest"), ("provider", "mistral"))
        assert samples[("llmhub_llm_latency_seconds_count", model)] == 1
        assert samples[("llmhub_llm_first_chunk_seconds_count", model)] == 1
        # "via webhook" and "echo: via webhook": 2 tokens in, 3 out.
        assert samples[("llmhub_llm_tokens_total", (("kind", "input"), *model))] == 2
        assert samples[("llmhub_llm_tokens_total", (("kind", "output"), *model))] == 3
        assert samples[("llmhub_llm_cost_usd_total", model)] == pytest.approx(
            MistralProvider.cost(
                "mistral-small-latest", Usage(prompt_tokens=2, completion_tokens=3)
            )
        )
        assert samples[("llmhub_bot_queue_depth", (("replica", replica),))] == 0


async def test_a_refused_set_webhook_is_tried_until_it_succeeds_while_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_startup, "RETRY_DELAYS", (0.0,))
    port = _free_port()
    settings: dict[str, Any] = {
        "webhook_url": "https://bot.example.org/hook",
        "webhook_host": "127.0.0.1",
        "webhook_port": port,
        "webhook_secret": SECRET,
    }

    def refuse(tg: FakeBotAPI) -> None:
        tg.refuse("setWebhook", 500, times=3)  # more refusals than retry delays

    async with open_world(tmp_path, polling=False, prepare=refuse, **settings) as world:
        server = asyncio.create_task(run_webhook(world.bot, world.dispatcher, world.settings))
        try:
            await world.tg.wait_for(lambda tg: tg.answered("setWebhook") == 1)
            assert len(world.tg.sent("setWebhook")) == 4
            update = {"update_id": 1, **world.tg.message(ADMIN, "served meanwhile")}
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"http://127.0.0.1:{port}/hook", json=update, headers=headers) as taken,
            ):
                assert taken.status == 200
            await world.tg.wait_for(lambda tg: "echo: served meanwhile" in tg.texts(ADMIN))
        finally:
            server.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await server


async def test_a_poison_body_is_refused_and_a_broken_text_answered_not_retried_forever(
    tmp_path: Path,
) -> None:
    async with _serving(tmp_path) as (world, hook):
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        deep = "[" * 100_000 + "]" * 100_000
        broken = {"update_id": 7, **world.tg.message(ADMIN, "half \ud83d an emoji")}
        async with aiohttp.ClientSession() as http:
            async with http.post(hook, data=deep, headers=headers) as refused:
                assert refused.status == 400  # not 500: Telegram would send it for ever
            async with http.post(hook, data=json.dumps(broken), headers=headers) as taken:
                assert taken.status == 200
        await world.tg.wait_for(lambda tg: len(tg.texts(ADMIN)) == 1)
        assert world.tg.texts(ADMIN) == ["echo: half \ufffd an emoji"]
