"""6. The bot as deployed for scale: N replicas (separate `llmhub-bot` processes,
webhook mode) behind a round-robin proxy, on PostgreSQL and Redis. 200 users send
3 messages each, delivered as Telegram does (per chat in order, each after the
previous one's 2xx); updates answered per second, from the first delivery to the
last answer, with 1 and with 3 replicas.

The fake Bot API, the fake model, the proxy and Telegram's delivery share one
process beside the replicas on this 2-core machine: the figures are for the whole
set-up, and what 3 replicas add here is bounded by the cores they share.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import psycopg
import redis.asyncio as redis

from llmhub.testing.openai_server import FakeOpenAIServer
from tests.fakes.telegram_server import FakeBotAPI
from tests.fakes.webhook import Delivery, RoundRobinProxy, wait_healthy

from ._common import free_port, median, table

ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
USERS = 200
MESSAGES = 3
ROUNDS = 2
SECRET = "bench-webhook-secret"
KEY = "bench-provider-key"


async def _once(replicas: int, folder: Path) -> float:
    token = f"900:{uuid.uuid4().hex}"
    name = f"llmhub_bench_{uuid.uuid4().hex[:10]}"
    admin = await psycopg.AsyncConnection.connect(ADMIN, autocommit=True)
    await admin.execute(f'CREATE DATABASE "{name}"')
    shared = redis.Redis.from_url(REDIS)
    ports = [free_port() for _ in range(replicas)]
    script = str(Path(sys.executable).with_name("llmhub-bot"))
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with AsyncExitStack() as stack:
            tg = await stack.enter_async_context(FakeBotAPI())
            llm = await stack.enter_async_context(FakeOpenAIServer(api_key=KEY))
            proxy = await stack.enter_async_context(
                RoundRobinProxy([f"http://127.0.0.1:{p}" for p in ports])
            )
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("LLMHUB_", "REDIS_"))},
                "TELEGRAM_BOT_TOKEN": token,
                "TELEGRAM_API_URL": tg.url,
                "WEBHOOK_URL": f"{proxy.url}/telegram",
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_SECRET": SECRET,
                "REDIS_URL": REDIS,
                "LLMHUB_DATABASE_URL": f"{ADMIN.rsplit('/', 1)[0]}/{name}",
                "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
                "MISTRAL_API_KEY": KEY,
                "MISTRAL_ENDPOINT": llm.url,
                "ALLOWED_USER_IDS": ",".join(str(u) for u in range(1, USERS + 1)),
                "BOT_STREAM_INTERVAL": "0",
                "BOT_RATE_LIMIT_PER_MINUTE": "1000",
            }
            for port in ports:
                log = (folder / f"replica-{port}.log").open("wb")
                stack.callback(log.close)
                processes.append(
                    await asyncio.create_subprocess_exec(
                        script,
                        env={**env, "WEBHOOK_PORT": str(port)},
                        cwd=folder,
                        stdout=log,
                        stderr=log,
                    )
                )
            await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{p}") for p in ports))
            chats = [
                [{"update_id": u * 10 + k, **tg.message(u, f"u{u} m{k}")} for k in range(MESSAGES)]
                for u in range(1, USERS + 1)
            ]
            delivery = Delivery(f"{proxy.url}/telegram", SECRET)
            started = time.perf_counter()
            await asyncio.gather(*(delivery.chat(chat) for chat in chats))
            total = USERS * MESSAGES
            await tg.wait_for(
                lambda fake: (
                    sum(str(p["text"]).startswith("echo: u") for p in fake.sent("sendMessage"))
                    >= total
                ),
                timeout=600,
            )
            rate = total / (time.perf_counter() - started)
            answers = [
                str(p["text"])
                for p in tg.sent("sendMessage")
                if str(p["text"]).startswith("echo: u")
            ]
            if len(answers) != total or len(set(answers)) != total:
                raise AssertionError(
                    f"{len(answers)} answers, {len(set(answers))} distinct, of {total}"
                )
            for process in processes:
                process.terminate()
            await asyncio.gather(*(p.wait() for p in processes))
            return rate
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        namespace = hashlib.sha256(token.encode()).hexdigest()[:12]
        keys = [key async for key in shared.scan_iter(match=f"llmhub:bot:{namespace}:*")]
        if keys:
            await shared.delete(*keys)
        await shared.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def run() -> str:
    rows = []
    for replicas in (1, 3):
        rates = []
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as folder:
                rates.append(asyncio.run(_once(replicas, Path(folder))))
        rows.append((replicas, median(rates)))
    one = rows[0][1]
    return (
        table(
            f"The bot behind a proxy: {USERS} users x {MESSAGES} messages by webhook, PostgreSQL and Redis",
            ["replicas", "updates answered / s", "vs 1 replica"],
            [(n, rate, f"{rate / one:.2f}x") for n, rate in rows],
        )
        + "\nEvery run: each message answered exactly once.\n"
    )


if __name__ == "__main__":
    print(run())
