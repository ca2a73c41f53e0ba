"""Three bot replicas, separate processes in webhook mode behind a round-robin
proxy, on one PostgreSQL database and one Redis; Telegram's delivery is faked as
it behaves (per chat in order, retried until a 2xx). 200 users send 3 messages
each; one replica is killed with SIGKILL in the middle. (100 users while Redis or
PostgreSQL is away: the outage is the point there, not the load.)

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
import contextlib
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
from tests import forkserver
from tests.bot.conftest import PROVIDER_KEY
from tests.fakes.telegram_server import FakeBotAPI
from tests.fakes.webhook import Delivery, RoundRobinProxy, wait_healthy
from tests.services import (
    REDIS_URL,
    DatabaseOutage,
    fresh_postgres_database,
    need,
    private_redis,
)

SCRIPT = Path(sys.executable).with_name("llmhub-bot")
USERS = 200
#: The users of the outage tests.
FEWER_USERS = 100
MESSAGES = 3
SECRET = "replicas-webhook-secret"
LEASE = 4.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _replica(env: dict[str, str], port: int, log: Path) -> AsyncIterator[forkserver.Process]:
    with log.open("wb") as out:
        process = await forkserver.start(
            [str(SCRIPT)],
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
    token: str,
    tg: FakeBotAPI,
    llm: FakeOpenAIServer,
    database: str,
    webhook: str,
    *,
    redis_url: str = REDIS_URL,
    lease: float = LEASE,
) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LLMHUB_", "REDIS_"))},
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": tg.url,
        "WEBHOOK_URL": webhook,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_SECRET": SECRET,
        "REDIS_URL": redis_url,
        "LLMHUB_DATABASE_URL": database,
        "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
        "LLMHUB_MAX_RETRIES": "0",
        "MISTRAL_API_KEY": PROVIDER_KEY,
        "MISTRAL_ENDPOINT": llm.url,
        "ALLOWED_USER_IDS": ",".join(str(u) for u in range(1, USERS + 1)),
        "BOT_STREAM_INTERVAL": "0",
        "BOT_CHAT_LEASE_SECONDS": str(lease),
    }


class _Load:
    """Three replicas behind a round-robin proxy, and 200 users' 3 messages each
    delivered to them as Telegram delivers (each chat in order, retried until a
    2xx); a test injects its fault in the middle, then `check()`s the outcome."""

    def __init__(
        self,
        tmp_path: Path,
        *,
        redis_url: str = REDIS_URL,
        lease: float = LEASE,
        users: int = USERS,
    ):
        self.users = users
        self.tmp_path = tmp_path
        self.redis_url = redis_url
        self.lease = lease
        token = f"777:{os.urandom(8).hex()}"  # its own Redis namespace
        self.token = token
        self.prefix = f"llmhub:bot:{hashlib.sha256(token.encode()).hexdigest()[:12]}:"

    async def start(self, stack: AsyncExitStack) -> None:
        import redis.asyncio as redis

        self.tg = await stack.enter_async_context(FakeBotAPI())
        self.llm = await stack.enter_async_context(FakeOpenAIServer(api_key=PROVIDER_KEY))
        self.updates = {
            user: [
                {"update_id": 1000 + user * 10 + k, **self.tg.message(user, f"u{user} m{k}")}
                for k in range(MESSAGES)
            ]
            for user in range(1, self.users + 1)
        }
        #: Each answer's text, and the update it answers.
        self.answer_of = {
            f"echo: u{user} m{k}": update["update_id"]
            for user, chat in self.updates.items()
            for k, update in enumerate(chat)
        }
        self.prompt_of = {u: answer[len("echo: ") :] for answer, u in self.answer_of.items()}
        self.database = await stack.enter_async_context(fresh_postgres_database())
        ports = [_free_port() for _ in range(3)]
        self.ports = ports
        proxy = await stack.enter_async_context(
            RoundRobinProxy([f"http://127.0.0.1:{port}" for port in ports])
        )
        self.shared = redis.Redis.from_url(self.redis_url, decode_responses=True)
        stack.push_async_callback(self.shared.aclose)
        stack.push_async_callback(self._forget_keys)
        env = _env(
            self.token,
            self.tg,
            self.llm,
            self.database,
            f"{proxy.url}/telegram",
            redis_url=self.redis_url,
            lease=self.lease,
        )
        self.replicas = [
            await stack.enter_async_context(_replica(env, port, self.tmp_path / f"replica-{i}.log"))
            for i, port in enumerate(ports)
        ]
        await asyncio.gather(*(wait_healthy(f"http://127.0.0.1:{port}") for port in ports))
        delivery = Delivery(f"{proxy.url}/telegram", SECRET)
        self.delivering = asyncio.gather(*(delivery.chat(chat) for chat in self.updates.values()))

    async def _forget_keys(self) -> None:
        with contextlib.suppress(Exception):  # a test may have left its Redis stopped
            await self.shared.delete(*(await self.shared.keys(f"{self.prefix}*")) or ["none"])

    def answered(self) -> set[int]:
        """The updates whose answer Telegram has received."""
        texts = (str(p["text"]) for p in self.tg.sent("sendMessage"))
        return {self.answer_of[text] for text in texts if text in self.answer_of}

    async def hold_settled(self) -> int:
        """Once a third of the messages are answered: hold the model, and wait until
        every finished answer is marked answered; how many answers are under way. (The
        bounds on the waits are for a machine busy with the rest of the suite: a
        healthy run takes a fraction of them.)"""
        await self.tg.wait_for(lambda _: len(self.answered()) >= self.users, timeout=300)
        self.llm.hold()
        for _ in range(600):
            queued = [
                int(member.split("|", 1)[0])
                for key in await self.shared.keys(f"{self.prefix}queue:*")
                for member in await self.shared.zrange(key, 0, -1)
            ]
            # Read after the queues (reading them takes a while): a stream that was past
            # its first piece when the hold began ends meanwhile, and counts here.
            generated = set(self.llm.completed)
            # Complete but still queued: its answer is being sent or marked answered.
            in_window = [u for u in queued if self.prompt_of[u] in generated]
            # Some held: messages are still queued, so streams keep starting (and are
            # held); none at the instant of a check is a moment between two of them.
            if not in_window and 0 < self.llm.held == self.llm.streaming:
                return self.llm.held
            await asyncio.sleep(0.05)
        raise AssertionError("the replicas never settled under the hold")

    async def busiest(self) -> int:
        """The replica answering the most chats now (its `/healthz` says): the one whose
        death leaves answers under way for the others."""
        async with aiohttp.ClientSession() as http:
            answering = []
            for port in self.ports:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                    answering.append((await health.json())["answering"])
        return answering.index(max(answering))

    async def finish_under_way(self, under_way: int) -> None:
        """Let the held answers go on, and wait until Telegram has every one of them."""
        finished = len(self.llm.completed) + under_way
        self.llm.resume()
        try:
            await self.tg.wait_for(lambda _: len(self.llm.completed) >= finished, timeout=180)
        except TimeoutError:
            raise AssertionError(
                f"{len(self.llm.completed)} of {finished} answers completed; "
                f"{self.llm.held} held, {self.llm.streaming} streaming"
            ) from None
        done = {self.answer_of[f"echo: {prompt}"] for prompt in self.llm.completed}
        try:
            await self.tg.wait_for(lambda _: done <= self.answered(), timeout=180)
        except TimeoutError:
            missing = sorted(done - self.answered())[:10]
            raise AssertionError(f"complete but never delivered: updates {missing}") from None

    async def logged(self, words: str, timeout: float = 120) -> None:
        """Until a replica's log holds `words`, or fail."""
        logs = sorted(self.tmp_path.glob("replica-*.log"))
        for _ in range(int(timeout / 0.1)):
            if any(words in log.read_text() for log in logs):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no replica logged {words!r}")

    def asked_once_each(self) -> bool:
        """Whether every message was asked of the model exactly once."""
        asked = [request["messages"][-1]["content"] for request in self.llm.requests]
        return len(asked) == len(set(asked)) == self.users * MESSAGES

    async def check(self) -> dict[str, int]:
        """Every message answered exactly once, in order, from a context of the
        chat's earlier turns, with one pair of rows each; the counts."""
        await asyncio.wait_for(self.delivering, 300)
        await self.tg.wait_for(lambda _: len(self.answered()) == self.users * MESSAGES, timeout=300)
        finals = [str(p["text"]) for p in self.tg.sent("sendMessage")]
        twice = [text for text in self.answer_of if finals.count(text) > 1]
        lost = [text for text in self.answer_of if finals.count(text) == 0]
        assert (twice, lost) == ([], [])
        for user in range(1, self.users + 1):
            mine = [str(p["text"]) for p in self.tg.sent("sendMessage", user)]
            assert mine == [f"echo: u{user} m{k}" for k in range(MESSAGES)], mine

        # Each answer saw the ones before it, each once.
        last_request: dict[str, list[Any]] = {}
        for request in self.llm.requests:
            last_request[request["messages"][-1]["content"]] = request["messages"]
        for user in range(1, self.users + 1):
            context = [m["content"] for m in last_request[f"u{user} m2"]]
            assert context == [
                f"u{user} m0",
                f"echo: u{user} m0",
                f"u{user} m1",
                f"echo: u{user} m1",
                f"u{user} m2",
            ]

        # One request and one response row per message (rows held through a
        # store outage are written by now), nothing left queued.
        store = store_from_url(self.database)
        await store.open()
        try:
            for _ in range(600):
                [counts] = await store.fetch(
                    "SELECT (SELECT COUNT(*) FROM requests) AS requests,"
                    " (SELECT COUNT(*) FROM responses WHERE status = 'ok') AS ok,"
                    " (SELECT COUNT(*) FROM responses) AS responses"
                )
                if counts["ok"] >= self.users * MESSAGES:
                    break
                await asyncio.sleep(0.1)
        finally:
            await store.close()
        total = self.users * MESSAGES
        assert counts == {"requests": total, "ok": total, "responses": total}
        assert await self.shared.keys(f"{self.prefix}queue:*") == []
        assert await self.shared.smembers(f"{self.prefix}pending") == set()  # type: ignore[misc]
        return {"messages": total, "twice": len(twice), "lost": len(lost), **counts}


async def test_three_replicas_one_killed_every_message_answered_once_in_order(
    tmp_path: Path,
) -> None:
    need("postgres")
    need("redis")
    load = _Load(tmp_path)
    async with AsyncExitStack() as stack:
        await load.start(stack)
        under_way = await load.hold_settled()
        victim = load.replicas[await load.busiest()]
        victim.kill()
        await victim.wait()
        load.llm.resume()
        counts = await load.check()

    print(f"kill -9 of a replica, {under_way} answers under way: {counts}")
    assert counts["twice"] == counts["lost"] == 0
    assert under_way > 0  # the kill did land with answers under way
    # ...and some of them were the victim's: asked of the model again by the others.
    assert len(load.llm.requests) > USERS * MESSAGES


async def test_redis_killed_and_restarted_under_load_answers_each_message_once(
    tmp_path: Path,
) -> None:
    """Answers finish while Redis is gone: Telegram has them, but they cannot be
    marked answered until Redis is back; none is answered again when it is."""
    need("postgres")
    async with AsyncExitStack() as stack:
        redis_server = await stack.enter_async_context(private_redis(tmp_path))
        load = _Load(tmp_path, redis_url=redis_server.url, lease=30.0, users=FEWER_USERS)
        await load.start(stack)
        under_way = await load.hold_settled()
        await redis_server.kill()
        await load.finish_under_way(under_way)  # delivered with Redis away
        # Back only once a replica has found it cannot mark an answer done (its Redis
        # client may take a while to give up a connection).
        await load.logged("answered but not yet marked so")
        await redis_server.start()
        counts = await load.check()
    print(f"Redis killed and restarted, {under_way} answers under way: {counts}")

    assert (under_way > 0, counts["twice"], counts["lost"]) == (True, 0, 0)
    assert load.asked_once_each()  # no answer asked of the model twice


async def test_postgres_away_under_load_loses_no_answer_and_no_row(tmp_path: Path) -> None:
    """The database refuses every connection and drops the open ones while answers
    are under way (as a restart does): they reach their users, the next messages
    wait for it, and every row is written once it is back."""
    need("postgres")
    need("redis")
    async with AsyncExitStack() as stack:
        load = _Load(tmp_path, lease=30.0, users=FEWER_USERS)
        await load.start(stack)
        outage = await stack.enter_async_context(DatabaseOutage(load.database))
        under_way = await load.hold_settled()
        await outage.refuse()
        await load.finish_under_way(under_way)  # delivered with the database away
        await outage.allow()
        counts = await load.check()
    print(f"PostgreSQL away, {under_way} answers under way: {counts}")

    assert (under_way > 0, counts["twice"], counts["lost"]) == (True, 0, 0)
    assert load.asked_once_each()


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


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SCRIPT.exists(), reason="llmhub-bot is not installed"),
]
