"""4. The store alone: request+response pairs logged per second at concurrency
50 and 500, with the rows counted afterwards; beside the usual ways of using
aiosqlite (a connection per pair; one shared connection committing each pair)."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import closing
from pathlib import Path

import aiosqlite

from llmhub.store import MIGRATIONS, RequestRecord, ResponseRecord, store_from_url

from ._common import median, table

Pair = Callable[[int], Awaitable[None]]
CONCURRENCY = [50, 500]
ROUNDS = 3


def _request(i: int) -> RequestRecord:
    return RequestRecord(
        uuid.uuid4().hex, f"chat-{i % 100}", "mistral", "mistral-small-latest", "hello", time.time()
    )


def _response(request_id: str) -> ResponseRecord:
    return ResponseRecord(
        request_id, "ok", "The quick brown fox.", time.time(), 12.5, "stop", 12, 20, 32
    )


def _schema(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn, conn:
        for migration in MIGRATIONS:
            conn.executescript(migration.sqlite)


_REQ = (
    "INSERT INTO requests (id, chat_id, user_id, provider, model, prompt, created_at)"
    " VALUES (?, ?, NULL, ?, ?, ?, ?)"
)
_RESP = (
    "INSERT INTO responses (request_id, status, text, created_at, latency_ms, finish_reason,"
    " prompt_tokens, completion_tokens, total_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _params(i: int) -> tuple[tuple[object, ...], tuple[object, ...]]:
    q, r = _request(i), _response("")
    rid = q.id
    return (rid, q.chat_id, q.provider, q.model, q.prompt, q.created_at), (
        rid,
        r.status,
        r.text,
        r.created_at,
        r.latency_ms,
        r.finish_reason,
        12,
        20,
        32,
    )


async def _run(pair: Pair, concurrency: int, n: int) -> float:
    share = n // concurrency

    async def worker(w: int) -> None:
        for j in range(share):
            await pair(w * share + j)

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return share * concurrency / (time.perf_counter() - started)


async def llmhub_store(path: Path, concurrency: int, n: int) -> float:
    store = store_from_url(f"sqlite:///{path}")
    await store.open()

    async def pair(i: int) -> None:
        request = _request(i)
        await store.log_request(request)
        await store.log_response(_response(request.id))

    try:
        return await _run(pair, concurrency, n)
    finally:
        await store.close()


async def connection_per_pair(path: Path, concurrency: int, n: int) -> float:
    _schema(path)

    async def pair(i: int) -> None:
        req, resp = _params(i)
        async with aiosqlite.connect(path, timeout=60) as db:
            await db.execute(_REQ, req)
            await db.execute(_RESP, resp)
            await db.commit()

    return await _run(pair, concurrency, n)


async def shared_connection(path: Path, concurrency: int, n: int, wal: bool) -> float:
    _schema(path)
    async with aiosqlite.connect(path) as db:
        if wal:
            await db.execute("PRAGMA journal_mode = WAL")

        async def pair(i: int) -> None:
            req, resp = _params(i)
            await db.execute(_REQ, req)
            await db.execute(_RESP, resp)
            await db.commit()

        return await _run(pair, concurrency, n)


def _count(path: Path) -> tuple[int, int]:
    with closing(sqlite3.connect(path)) as conn, conn:
        requests = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        responses = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    return int(requests), int(responses)


WAYS: dict[str, tuple[Callable[[Path, int, int], Coroutine[None, None, float]], int]] = {
    "llmhub SQLiteStore (one writer, grouped commits, WAL)": (llmhub_store, 20000),
    "aiosqlite, a connection per pair": (connection_per_pair, 2000),
    "aiosqlite, shared connection, commit per pair": (
        lambda p, c, n: shared_connection(p, c, n, False),
        4000,
    ),
    "aiosqlite, shared connection + WAL, commit per pair": (
        lambda p, c, n: shared_connection(p, c, n, True),
        5000,
    ),
}


def run() -> str:
    rows = []
    for c in CONCURRENCY:
        results: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            for name, (way, n) in WAYS.items():
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / "bench.db"
                    rate = asyncio.run(way(path, c, n))
                    expected = n // c * c
                    if _count(path) != (expected, expected):
                        raise AssertionError(f"{name}: rows lost: {_count(path)} != {expected}")
                results.setdefault(name, []).append(rate)
        ours = median(results[next(iter(WAYS))])
        for name, rates in results.items():
            rows.append((c, name, median(rates), f"{ours / median(rates):.2f}x"))
    return (
        table(
            "The store: logged request+response pairs per second (rows counted after each run)",
            ["concurrency", "way", "pairs / s", "llmhub / this"],
            rows,
        )
        + "\nEvery run ended with exactly as many request and response rows as pairs logged.\n"
    )


if __name__ == "__main__":
    print(run())
