"""The SQLite store: one connection, one writer task, grouped commits.

Why one writer: SQLite allows one writer at a time, and a commit costs far
more than a row. Every write goes through a queue to a single task that takes
whatever has accumulated (up to `batch_size` rows), writes it in one
transaction, commits once and then wakes the callers. Under load the batches
grow by themselves; with no load a row is committed at once. Nothing waits on
a timer, and "database is locked" cannot happen inside one process.

The chats' context reads, asked before every request, go through the same
queue: after a batch's writes, one query answers every chat asked in it. A
thread round trip per request (aiosqlite's) costs more CPU than the request's
whole HTTP exchange; one per batch does not. A read also sees every write
queued before it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigurationError, StoreError
from ._base import Store
from ._records import (
    ContextInfo,
    Exchange,
    ProviderStats,
    RequestRecord,
    ResponseRecord,
    Turn,
    UserRecord,
    UserStatus,
)
from ._schema import MIGRATIONS, SCHEMA_VERSION

if TYPE_CHECKING:
    import aiosqlite

__all__ = ["SQLiteStore"]

log = logging.getLogger("llmhub.store")

_INSERT_REQUEST = (
    "INSERT INTO requests (id, chat_id, user_id, provider, model, prompt, created_at,"
    " context_turns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_RESPONSE = (
    "INSERT INTO responses (request_id, status, text, created_at, latency_ms, finish_reason,"
    " prompt_tokens, completion_tokens, total_tokens, error_type, error_message)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(slots=True)
class _Write:
    sql: str
    params: Sequence[Any]
    done: asyncio.Future[None] | None = field(default=None)


@dataclass(slots=True)
class _TurnsRead:
    """A chat's recent turns, read by the writer task after the writes queued with it."""

    chat_id: str
    max_turns: int
    done: asyncio.Future[list[tuple[str, str]]]


_STOP = _Write("", ())
_Job = _Write | _TurnsRead

# One query for every chat whose turns are asked in the same batch.
_TURNS_OF_CHATS = """
SELECT chat_id, prompt, text FROM (
    SELECT q.chat_id, q.prompt, r.text, ROW_NUMBER() OVER (
        PARTITION BY q.chat_id ORDER BY q.created_at DESC, q.rowid DESC) AS n
    FROM requests q
    JOIN responses r ON r.request_id = q.id
    LEFT JOIN chats c ON c.chat_id = q.chat_id
    WHERE q.chat_id IN ({marks}) AND r.status = 'ok' AND q.created_at > COALESCE(c.context_since, 0)
) WHERE n <= ? ORDER BY chat_id, n
"""


class SQLiteStore(Store):
    """A `Store` in one SQLite file (WAL mode), or in memory with `":memory:"`."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL", batch_size: int = 500) -> None:
        self.path = path
        self.synchronous = synchronous
        self.batch_size = batch_size
        self._db: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        import aiosqlite

        if self._db is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        connection = aiosqlite.connect(self.path, isolation_level=None)
        # aiosqlite's worker thread is not a daemon: an app that never closes its
        # store would hang at exit. Every awaited row is committed already.
        worker = getattr(connection, "_thread", connection)
        if isinstance(worker, threading.Thread) and not worker.is_alive():
            worker.daemon = True
        try:
            db = await connection
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the database {self.path!r}: {exc}") from exc
        self._db = db
        try:
            await db.execute("PRAGMA busy_timeout = 5000")
            if self.path != ":memory:":
                await db.execute("PRAGMA journal_mode = WAL")
            await db.execute(f"PRAGMA synchronous = {self.synchronous}")
            await db.execute("PRAGMA foreign_keys = ON")
            await self._migrate(db)
        except BaseException:
            self._db = None
            await db.close()
            raise
        self._writer = asyncio.create_task(self._write_loop(db), name="llmhub-store-writer")

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is None:
            return
        if self._writer is not None:
            self._queue.put_nowait(_STOP)
            await self._writer
            self._writer = None
        await db.close()

    @property
    def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        return self._db

    async def schema_version(self) -> int:
        """The schema version of the open database."""
        async with self._conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, db: aiosqlite.Connection) -> None:
        current = await self.schema_version()
        if current > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the database {self.path!r} has schema version {current}, newer than this "
                f"llmhub's {SCHEMA_VERSION}; upgrade llmhub"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            statements = [s.strip() for s in MIGRATIONS[version - 1].split(";") if s.strip()]
            await db.execute("BEGIN IMMEDIATE")
            try:
                for statement in statements:
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {version}")
                await db.execute("COMMIT")
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            log.info("store %s migrated to schema version %d", self.path, version)

    # -- the writer ----------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Write(sql, params, done))
        try:
            await done
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"could not write to {self.path!r}: {exc}") from exc

    def _enqueue(self, write: _Job) -> None:
        if self._db is None:
            raise ConfigurationError("the store is closed")
        self._queue.put_nowait(write)

    async def _write_loop(self, db: aiosqlite.Connection) -> None:
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if _STOP in batch:
                stopping = True
                batch = [w for w in batch if w is not _STOP]
            writes = [job for job in batch if isinstance(job, _Write)]
            reads = [job for job in batch if isinstance(job, _TurnsRead)]
            try:
                if writes:
                    await self._flush(db, writes)
                if reads:
                    await self._read_turns(db, reads)
            except Exception as exc:
                # Never let the writer die: a dead writer would leave every later
                # caller waiting forever. Fail this batch's callers and go on.
                log.exception("store: a batch of %d jobs failed", len(batch))
                for job in batch:
                    if job.done is not None and not job.done.done():
                        job.done.set_exception(exc)

    async def _read_turns(self, db: aiosqlite.Connection, reads: list[_TurnsRead]) -> None:
        chats = list(dict.fromkeys(read.chat_id for read in reads))
        sql = _TURNS_OF_CHATS.format(marks=", ".join("?" * len(chats)))
        rows = await db.execute_fetchall(sql, [*chats, max(read.max_turns for read in reads)])
        by_chat: dict[str, list[tuple[str, str]]] = {chat: [] for chat in chats}
        for chat_id, prompt, text in rows:
            by_chat[str(chat_id)].append((str(prompt), str(text)))
        for read in reads:
            if not read.done.done():
                read.done.set_result(by_chat[read.chat_id][: read.max_turns])

    async def _flush(self, db: aiosqlite.Connection, batch: list[_Write]) -> None:
        try:
            await db.execute("BEGIN")
            for sql, group in groupby(batch, key=lambda w: w.sql):
                await db.executemany(sql, [w.params for w in group])
            await db.execute("COMMIT")
        except sqlite3.Error:
            await db.execute("ROLLBACK")
            await self._flush_one_by_one(db, batch)
            return
        for write in batch:
            if write.done is not None and not write.done.done():
                write.done.set_result(None)

    async def _flush_one_by_one(self, db: aiosqlite.Connection, batch: list[_Write]) -> None:
        # A grouped write failed: find the row at fault, keep every other one.
        for write in batch:
            try:
                await db.execute(write.sql, write.params)
            except sqlite3.Error as exc:
                if write.done is None:
                    log.error("store: a queued row could not be written: %s", exc)
                elif not write.done.done():
                    write.done.set_exception(exc)
                continue
            if write.done is not None and not write.done.done():
                write.done.set_result(None)

    # -- the log -----------------------------------------------------------------------

    async def log_request(self, record: RequestRecord) -> None:
        self._enqueue(
            _Write(
                _INSERT_REQUEST,
                (
                    record.id,
                    record.chat_id,
                    record.user_id,
                    record.provider,
                    record.model,
                    record.prompt,
                    record.created_at,
                    record.context_turns,
                ),
            )
        )

    async def log_response(self, record: ResponseRecord) -> None:
        await self._write(
            _INSERT_RESPONSE,
            (
                record.request_id,
                record.status,
                record.text,
                record.created_at,
                record.latency_ms,
                record.finish_reason,
                record.prompt_tokens,
                record.completion_tokens,
                record.total_tokens,
                record.error_type,
                record.error_message,
            ),
        )

    async def recent_exchanges(self, limit: int = 20, chat_id: str | None = None) -> list[Exchange]:
        where, params = ("WHERE q.chat_id = ?", [chat_id]) if chat_id is not None else ("", [])
        sql = (
            "SELECT q.id, q.chat_id, q.provider, q.model, q.prompt, q.created_at, r.status,"  # noqa: S608 - `where` is one of two constants
            " r.text, r.latency_ms, r.total_tokens, r.error_type FROM requests q"
            f" LEFT JOIN responses r ON r.request_id = q.id {where}"
            " ORDER BY q.created_at DESC, q.rowid DESC LIMIT ?"
        )
        rows = await self._conn.execute_fetchall(sql, [*params, limit])
        return [Exchange(*row) for row in rows]

    # -- chats -------------------------------------------------------------------------

    async def _turn_rows(self, chat_id: str, max_turns: int) -> list[tuple[str, str]]:
        """Newest first, through the writer's queue (see the module's docstring)."""
        if max_turns <= 0:
            return []
        done: asyncio.Future[list[tuple[str, str]]] = asyncio.get_running_loop().create_future()
        self._enqueue(_TurnsRead(chat_id, max_turns, done))
        try:
            return await done
        except Exception as exc:
            raise StoreError(f"could not read from {self.path!r}: {exc}") from exc

    async def recent_turns(self, chat_id: str, max_turns: int, max_chars: int) -> list[Turn]:
        kept: list[Turn] = []
        used = 0
        for prompt, text in await self._turn_rows(chat_id, max_turns):
            size = len(prompt) + len(text)
            if used + size > max_chars:
                break
            used += size
            kept.append(Turn(prompt=prompt, reply=text))
        kept.reverse()
        return kept

    async def context_info(self, chat_id: str, max_turns: int, max_chars: int) -> ContextInfo:
        turns = await self.recent_turns(chat_id, max_turns, max_chars)
        return ContextInfo(turns=len(turns), chars=sum(len(t.prompt) + len(t.reply) for t in turns))

    async def reset_context(self, chat_id: str) -> None:
        now = time.time()
        await self._write(
            "INSERT INTO chats (chat_id, context_since, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET context_since = excluded.context_since,"
            " updated_at = excluded.updated_at",
            (chat_id, now, now),
        )

    async def chat_model(self, chat_id: str) -> str | None:
        rows = await self._conn.execute_fetchall(
            "SELECT model FROM chats WHERE chat_id = ?", (chat_id,)
        )
        for (model,) in rows:
            return str(model) if model is not None else None
        return None

    async def set_chat_model(self, chat_id: str, model: str | None) -> None:
        await self._write(
            "INSERT INTO chats (chat_id, model, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET model = excluded.model,"
            " updated_at = excluded.updated_at",
            (chat_id, model, time.time()),
        )

    # -- models and users ----------------------------------------------------------------

    async def record_models(self, provider: str, models: Iterable[str]) -> None:
        now = time.time()
        rows = [(provider, model, now, now) for model in models]
        if not rows:
            return
        sql = (
            "INSERT INTO models (provider, model, first_seen, last_seen) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (provider, model) DO UPDATE SET last_seen = excluded.last_seen"
        )
        for params in rows[:-1]:
            self._enqueue(_Write(sql, params))
        await self._write(sql, rows[-1])

    async def known_models(self) -> dict[str, list[str]]:
        rows = await self._conn.execute_fetchall(
            "SELECT provider, model FROM models ORDER BY provider, model"
        )
        result: dict[str, list[str]] = {}
        for provider, model in rows:
            result.setdefault(str(provider), []).append(str(model))
        return result

    async def get_user(self, user_id: int) -> UserRecord | None:
        rows = await self._conn.execute_fetchall(
            "SELECT id, status, username, full_name, language FROM users WHERE id = ?",
            (user_id,),
        )
        for row in rows:
            return UserRecord(*row)
        return None

    async def upsert_user(self, user: UserRecord) -> None:
        now = time.time()
        await self._write(
            "INSERT INTO users (id, status, username, full_name, language, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " username = excluded.username, full_name = excluded.full_name,"
            " language = excluded.language, updated_at = excluded.updated_at",
            (user.id, user.status, user.username, user.full_name, user.language, now, now),
        )

    async def set_user_status(self, user_id: int, status: UserStatus) -> None:
        now = time.time()
        await self._write(
            "INSERT INTO users (id, status, created_at, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
            " updated_at = excluded.updated_at",
            (user_id, status, now, now),
        )

    async def count_users(self) -> dict[str, int]:
        rows = await self._conn.execute_fetchall(
            "SELECT status, COUNT(*) FROM users GROUP BY status"
        )
        return {str(status): int(count) for status, count in rows}

    async def provider_stats(self, since: float) -> list[ProviderStats]:
        rows = await self._conn.execute_fetchall(
            "SELECT q.provider, COUNT(*), COALESCE(SUM(r.status = 'error'), 0),"
            " COALESCE(SUM(r.prompt_tokens), 0), COALESCE(SUM(r.completion_tokens), 0)"
            " FROM requests q LEFT JOIN responses r ON r.request_id = q.id"
            " WHERE q.created_at >= ? GROUP BY q.provider ORDER BY q.provider",
            (since,),
        )
        return [ProviderStats(str(p), int(n), int(e), int(pt), int(ct)) for p, n, e, pt, ct in rows]

    async def ping(self) -> bool:
        try:
            await self._conn.execute_fetchall("SELECT 1")
        except (sqlite3.Error, ConfigurationError, ValueError):
            return False
        return True

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path!r} {'open' if self._db else 'closed'}>"
