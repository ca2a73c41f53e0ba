"""Three bot replicas, separate processes in webhook mode behind a round-robin
proxy, on one PostgreSQL database and one Redis; Telegram's delivery is faked as
it behaves (per chat in order, retried until a 2xx). 200 users send 3 messages
each; one replica is killed with SIGKILL in the middle.

The kill lands at a chosen moment, not a random one: the fake model holds
every stream after its first piece, and once no replica holds a message whose
answer is complete but not yet marked answered, the victim is killed with
answers under way.
(Telegram has no idempotency key: a process killed in the instant after
Telegram took its answer and before it noted so would answer twice; that
instant is what the hold keeps the test from hitting by chance.)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from llmhub.store import store_from_url
from llmhub.testing.openai_server import FakeOpenAIServer
from tests.bot.conftest import PROVIDER_KEY
from tests.fakes.telegram_server import FakeBotAPI
from tests.fakes.webhook import Delivery, RoundRobinProxy, wait_healthy
from tests.services import REDIS_URL, fresh_postgres_database, need

SCRIPT = Path(sys.executable).with_name("llmhub-bot")
USERS = 200
MESSAGES = 3
SECRET = "replicas-webhook-secret"
LEASE = 4.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _replica(
    env: dict[str, str], port: int, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            str(SCRIPT),
            env={**env, "WEBHOOK_PORT": str(port)},
            cwd=log.parent,
            stdout=out,
            stderr=out,
        )
        try:
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 30)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def _env(
    token: str, tg: FakeBotAPI, llm: FakeOpenAIServer, database: str, webhook: str
) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LLMHUB_", "REDIS_"))},
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.url,
        "WEBHOOK_URL": webhook,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_SECRET": SECRET,
        "REDIS_URL": REDIS_URL,
        "LLMHUB_DATABASE_URL": database,
        "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
        "LLMHUB_MAX_RETRIES": "0",
        "MISTRAL_API_KEY": PROVIDER_KEY,
        "MISTRAL_ENDPOINT": llm.url,
        "ALLOWED_USER_IDS": ",".join(str(u) for u in range(1, USERS + 1)),
        "BOT_STREAM_INTERVAL": "0",
        "BOT_CHAT_LEASE_SECONDS": str(LEASE),
    }


async def test_three_replicas_one_killed_every_message_answered_once_in_order(
    tmp_path: Path,
) -> None:
    need("postgres")
    need("redis")
    import redis.asyncio as redis

    token = f"777:{os.urandom(8).hex()}"  # its own Redis namespace
    namespace = hashlib.sha256(token.encode()).hexdigest()[:12]
    prefix = f"llmhub:bot:{namespace}:"
    shared = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    ports = [_free_port() for _ in range(3)]

    async with AsyncExitStack() as stack:
        tg = await stack.enter_async_context(FakeBotAPI())
        llm = await stack.enter_async_context(FakeOpenAIServer(api_key=PROVIDER_KEY))
        database = await stack.enter_async_context(fresh_postgres_database())
        proxy = await stack.enter_async_context(
            RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        )
        stack.push_async_callback(shared.aclose)
        env = _env(token, tg, llm, database, f"{proxy.url}/telegram")
        replicas = [
            await stack.enter_async_context(_replica(env, port, tmp_path / f"replica-{i}.log"))
            for i, port in enumerate(ports)
        ]
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{port}") for port in ports))

        # Every user's messages, as Telegram numbers them.
        updates = {
            user: [
                {"update_id": 1000 + user * 10 + k, **tg.message(user, f"u{user} m{k}")}
                for k in range(MESSAGES)
            ]
            for user in range(1, USERS + 1)
        }
        answer_of = {
            f"echo: u{user} m{k}": update["update_id"]
            for user, chat in updates.items()
            for k, update in enumerate(chat)
        }
        prompt_of = {update_id: answer[len("echo: ") :] for answer, update_id in answer_of.items()}
        delivery = Delivery(f"{proxy.url}/telegram", SECRET)
        delivering = asyncio.gather(*(delivery.chat(chat) for chat in updates.values()))

        def answered() -> set[int]:
            return {
                answer_of[str(p["text"])]
                for p in tg.sent("sendMessage")
                if str(p["text"]) in answer_of
            }

        # In the middle: hold the model, let every finished answer be marked answered,
        # then kill one replica with answers under way.
        await tg.wait_for(lambda _: len(answered()) >= USERS, timeout=120)
        llm.hold()
        for _ in range(600):
            generated = set(llm.completed)
            queued = [
                int(member.split("|", 1)[0])
                for key in await shared.keys(f"{prefix}queue:*")
                for member in await shared.zrange(key, 0, -1)
            ]
            # Complete but still queued: its answer is being sent or marked answered.
            in_window = [u for u in queued if prompt_of[u] in generated]
            if not in_window and llm.held == llm.streaming:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the replicas never settled under the hold")
        under_way = llm.held
        victim = replicas[0]
        victim.kill()
        await victim.wait()
        llm.resume()

        await asyncio.wait_for(delivering, 120)
        await tg.wait_for(lambda _: len(answered()) == USERS * MESSAGES, timeout=120)

        # Every message answered exactly once, each chat's answers in the order sent.
        finals = [str(p["text"]) for p in tg.sent("sendMessage") if str(p["text"]) in answer_of]
        assert [text for text in answer_of if finals.count(text) != 1] == []
        for user in range(1, USERS + 1):
            mine = [str(p["text"]) for p in tg.sent("sendMessage", user)]
            assert mine == [f"echo: u{user} m{k}" for k in range(MESSAGES)], mine

        # Each answer saw the ones before it.
        last_request: dict[str, list[Any]] = {}
        for request in llm.requests:
            last_request[request["messages"][-1]["content"]] = request["messages"]
        for user in range(1, USERS + 1):
            context = [m["content"] for m in last_request[f"u{user} m2"]]
            assert context == [
                f"u{user} m0",
                f"echo: u{user} m0",
                f"u{user} m1",
                f"echo: u{user} m1",
                f"u{user} m2",
            ]

        # One request and one response row per message, nothing left queued.
        store = store_from_url(database)
        await store.open()
        try:
            [counts] = await store.fetch(
                "SELECT (SELECT COUNT(*) FROM requests) AS requests,"
                " (SELECT COUNT(*) FROM responses WHERE status = 'ok') AS ok,"
                " (SELECT COUNT(*) FROM responses) AS responses"
            )
        finally:
            await store.close()
        assert counts == {"requests": 600, "ok": 600, "responses": 600}
        assert await shared.keys(f"{prefix}queue:*") == []
        assert await shared.smembers(f"{prefix}pending") == set()  # type: ignore[misc]
        assert under_way > 0  # the kill did land with answers under way
        # ...and some of them were the victim's: asked of the model again by the others.
        assert len(llm.requests) > USERS * MESSAGES
        await shared.delete(*(await shared.keys(f"{prefix}*")) or ["none"])


async def _post(url: str, update: dict[str, Any]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        try:
            async with http.post(url, json=update, headers=headers) as answer:
                return answer.status
        except aiohttp.ClientError:
            return 0  # nobody listens any more


async def test_sigterm_refuses_new_updates_and_hands_back_what_it_answers(
    tmp_path: Path,
) -> None:
    """A stopping replica answers new updates 503 (Telegram delivers them again,
    elsewhere), and what it could not finish within its grace is answered by
    another replica: once, without a "(stopped)" left behind."""
    need("postgres")
    need("redis")
    token = f"778:{os.urandom(8).hex()}"
    ports = [_free_port() for _ in range(2)]
    async with AsyncExitStack() as stack:
        tg = await stack.enter_async_context(FakeBotAPI())
        llm = await stack.enter_async_context(FakeOpenAIServer(api_key=PROVIDER_KEY))
        database = await stack.enter_async_context(fresh_postgres_database())
        env = {
            **_env(token, tg, llm, database, "https://bot.example.org/telegram"),
            "BOT_SHUTDOWN_GRACE": "1",
        }
        stopping, _ = [
            await stack.enter_async_context(_replica(env, port, tmp_path / f"replica-{i}.log"))
            for i, port in enumerate(ports)
        ]
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{port}") for port in ports))
        first, second = (f"http://127.0.0.1:{port}/telegram" for port in ports)

        llm.hold()
        update = {"update_id": 1, **tg.message(1, "long question")}
        assert await _post(first, update) == 200
        await tg.wait_for(lambda _: bool(tg.sent("sendMessageDraft", 1)), timeout=30)
        stopping.send_signal(signal.SIGTERM)
        late = {"update_id": 2, **tg.message(2, "just now")}
        statuses = [await _post(first, late)]
        while statuses[-1] == 200:  # until the signal is handled
            late = {**late, "update_id": late["update_id"] + 1}
            statuses.append(await _post(first, late))
        assert statuses[-1] in {503, 0}
        code = await asyncio.wait_for(stopping.wait(), 30)
        llm.resume()
        await tg.wait_for(lambda _: "echo: long question" in tg.texts(1), timeout=60)
        assert await _post(second, {"update_id": 99, **tg.message(3, "still here")}) == 200
        await tg.wait_for(lambda _: "echo: still here" in tg.texts(3), timeout=30)

    log = (tmp_path / "replica-0.log").read_text()
    assert code == 0, log
    assert "handed back" in log
    assert "Traceback" not in log
    assert "Unclosed" not in log
    assert tg.texts(1) == ["echo: long question"]  # once, and no "(stopped)" message


async def test_the_stop_button_reaches_the_replica_that_answers(tmp_path: Path) -> None:
    need("postgres")
    need("redis")
    token = f"779:{os.urandom(8).hex()}"
    ports = [_free_port() for _ in range(2)]
    async with AsyncExitStack() as stack:
        tg = await stack.enter_async_context(FakeBotAPI())
        llm = await stack.enter_async_context(FakeOpenAIServer(api_key=PROVIDER_KEY))
        database = await stack.enter_async_context(fresh_postgres_database())
        env = _env(token, tg, llm, database, "https://bot.example.org/telegram")
        for i, port in enumerate(ports):
            await stack.enter_async_context(_replica(env, port, tmp_path / f"replica-{i}.log"))
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{port}") for port in ports))
        answering, other = (f"http://127.0.0.1:{port}/telegram" for port in ports)

        llm.hold()
        assert await _post(answering, {"update_id": 1, **tg.message(1, "long question")}) == 200
        await tg.wait_for(lambda _: bool(tg.sent("sendMessageDraft", 1)), timeout=30)
        draft_id = int(tg.sent("sendMessageDraft", 1)[-1]["draft_id"])
        assert await _post(other, {"update_id": 2, **tg.stopped(1, draft_id)}) == 200
        await tg.wait_for(lambda _: bool(tg.texts(1)), timeout=30)
        llm.resume()
        # The next message is answered next: the stopped one is not answered again.
        assert await _post(other, {"update_id": 3, **tg.message(1, "next")}) == 200
        await tg.wait_for(lambda _: "echo: next" in tg.texts(1), timeout=30)

    stopped, following = tg.texts(1)
    assert stopped.endswith("(stopped)")
    assert "long question" not in stopped
    assert following == "echo: next"


pytestmark = pytest.mark.skipif(not SCRIPT.exists(), reason="llmhub-bot is not installed")
