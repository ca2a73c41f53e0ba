"""4b. The store on PostgreSQL: request+response pairs logged per second at
concurrency 50, rows counted after every run, beside the two candidate drivers
used the usual way (a pool, one commit per pair) and asyncpg with llmhub's own
way (one writer, grouped commits), so the driver choice is measured, not guessed.

Needs a PostgreSQL server (TEST_POSTGRES_URL, default the local one); each run
gets a fresh database.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import psycopg
import psycopg_pool

from llmhub.store import RequestRecord, ResponseRecord, store_from_url

from ._common import median, table

ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CONCURRENCY = 50
ROUNDS = 3
PAIRS = 10_000

_REQ = (
    "INSERT INTO requests (id, chat_id, user_id, provider, model, prompt, created_at)"
    " VALUES ($1, $2, NULL, $3, $4, $5, $6)"
)
_RESP = (
    "INSERT INTO responses (request_id, status, text, created_at, latency_ms, finish_reason,"
    " prompt_tokens, completion_tokens, total_tokens) VALUES ($1, $2, $3, $4, $5, $6, 12, 20, 32)"
)


def _pair(i: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    rid = uuid.uuid4().hex
    now = time.time()
    return (rid, f"chat-{i % 100}", "mistral", "mistral-small-latest", "hello", now), (
        rid,
        "ok",
        "The quick brown fox.",
        now,
        12.5,
        "stop",
    )


async def _run(pair: Callable[[int], Awaitable[None]], n: int) -> float:
    share = n // CONCURRENCY

    async def worker(w: int) -> None:
        for j in range(share):
            await pair(w * share + j)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))
    return share * CONCURRENCY / (time.perf_counter() - started)


async def llmhub_store(url: str, n: int) -> float:
    store = store_from_url(url)
    await store.open()

    async def pair(i: int) -> None:
        request = RequestRecord(
            uuid.uuid4().hex, f"chat-{i % 100}", "mistral", "m", "hello", time.time()
        )
        await store.log_request(request)
        await store.log_response(
            ResponseRecord(
                request.id, "ok", "The quick brown fox.", time.time(), 12.5, "stop", 12, 20, 32
            )
        )

    try:
        return await _run(pair, n)
    finally:
        await store.close()


async def psycopg_pool_per_pair(url: str, n: int) -> float:
    req = _REQ
    for k in range(9, 0, -1):
        req = req.replace(f"${k}", "%s")
    resp = _RESP
    for k in range(9, 0, -1):
        resp = resp.replace(f"${k}", "%s")
    async with psycopg_pool.AsyncConnectionPool(url, min_size=10, max_size=20, open=False) as pool:
        await pool.open(wait=True)

        async def pair(i: int) -> None:
            q, r = _pair(i)
            async with pool.connection() as conn, conn.transaction():
                await conn.execute(req, q)
                await conn.execute(resp, r)

        return await _run(pair, n)


async def asyncpg_pool_per_pair(url: str, n: int) -> float:
    import asyncpg

    pool = await asyncpg.create_pool(url, min_size=10, max_size=20)
    try:

        async def pair(i: int) -> None:
            q, r = _pair(i)
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(_REQ, *q)
                await conn.execute(_RESP, *r)

        return await _run(pair, n)
    finally:
        await pool.close()


Batch = list[tuple[tuple[Any, ...], tuple[Any, ...], asyncio.Future[None]]]


async def _one_writer(write: Callable[[Batch], Awaitable[None]], n: int) -> float:
    """llmhub's way with a plain driver: one writer task, grouped commits."""
    queue: asyncio.Queue[tuple[tuple[Any, ...], tuple[Any, ...], asyncio.Future[None]]] = (
        asyncio.Queue()
    )

    async def writer() -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < 500:
                batch.append(queue.get_nowait())
            await write(batch)
            for _, _, done in batch:
                done.set_result(None)

    task = asyncio.create_task(writer())

    async def pair(i: int) -> None:
        q, r = _pair(i)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.put_nowait((q, r, done))
        await done

    try:
        return await _run(pair, n)
    finally:
        task.cancel()


async def asyncpg_one_writer(url: str, n: int) -> float:
    import asyncpg

    conn = await asyncpg.connect(url)

    async def write(batch: Batch) -> None:
        async with conn.transaction():
            await conn.executemany(_REQ, [q for q, _, _ in batch])
            await conn.executemany(_RESP, [r for _, r, _ in batch])

    try:
        return await _one_writer(write, n)
    finally:
        await conn.close()


async def psycopg_one_writer(url: str, n: int) -> float:
    """The same on psycopg 3 (prepared, pipelined)."""
    req, resp = _REQ, _RESP
    for k in range(9, 0, -1):
        req, resp = req.replace(f"${k}", "%s"), resp.replace(f"${k}", "%s")
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True, prepare_threshold=0)

    async def write(batch: Batch) -> None:
        async with conn.transaction(), conn.pipeline(), conn.cursor() as cursor:
            await cursor.executemany(req, [q for q, _, _ in batch])
            await cursor.executemany(resp, [r for _, r, _ in batch])

    try:
        return await _one_writer(write, n)
    finally:
        await conn.close()


WAYS: dict[str, tuple[Callable[[str, int], Coroutine[None, None, float]], int]] = {
    "llmhub PostgresStore (psycopg 3, one writer, grouped commits, unnest)": (
        llmhub_store,
        PAIRS,
    ),
    "asyncpg, one writer, grouped commits, executemany": (asyncpg_one_writer, PAIRS),
    "psycopg 3, one writer, grouped commits, executemany": (psycopg_one_writer, PAIRS),
    "psycopg 3 pool, a transaction per pair": (psycopg_pool_per_pair, PAIRS // 4),
    "asyncpg pool, a transaction per pair": (asyncpg_pool_per_pair, PAIRS // 4),
}


async def _measure(way: Callable[[str, int], Coroutine[None, None, float]], n: int) -> float:
    name = f"llmhub_bench_{uuid.uuid4().hex[:10]}"
    admin = await psycopg.AsyncConnection.connect(ADMIN, autocommit=True)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = f"{ADMIN.rsplit('/', 1)[0]}/{name}"
        store = store_from_url(url)  # the schema, migrated as llmhub does
        await store.open()
        await store.close()
        rate = await way(url, n)
        check = await psycopg.AsyncConnection.connect(url)
        try:
            cursor = await check.execute(
                "SELECT (SELECT COUNT(*) FROM requests), (SELECT COUNT(*) FROM responses)"
            )
            counted = await cursor.fetchone()
        finally:
            await check.close()
        expected = n // CONCURRENCY * CONCURRENCY
        if counted != (expected, expected):
            raise AssertionError(f"rows lost: {counted} != {expected}")
        return rate
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def run() -> str:
    results: dict[str, list[float]] = {}
    for _ in range(ROUNDS):
        for name, (way, n) in WAYS.items():
            results.setdefault(name, []).append(asyncio.run(_measure(way, n)))
    ours = median(results[next(iter(WAYS))])
    rows = [
        (CONCURRENCY, name, median(rates), f"{ours / median(rates):.2f}x")
        for name, rates in results.items()
    ]
    return (
        table(
            "The store on PostgreSQL: logged request+response pairs per second",
            ["concurrency", "way", "pairs / s", "llmhub / this"],
            rows,
        )
        + "\nEvery run ended with exactly as many request and response rows as pairs logged.\n"
    )


if __name__ == "__main__":
    print(run())
