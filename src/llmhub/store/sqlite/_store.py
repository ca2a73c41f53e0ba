"""The SQLite store: one connection on one thread of its own, one writer task,
grouped commits.

Why one writer: SQLite allows one writer at a time, and a commit costs far
more than a row. Every write goes through a queue to a single task that takes
whatever has accumulated (up to `batch_size` jobs), writes it in one
transaction, commits once and then wakes the callers. Under load the batches
grow by themselves; with no load a row is committed at once. Nothing waits on
a timer, and "database is locked" cannot happen inside one process.

Why one hop per batch: the whole batch (its writes, the commit, and the
context reads queued with it) is one call on the store's thread
(`_sync.run_batch`). A thread round trip per statement, as aiosqlite
makes, waits for the GIL each time while the event loop is busy: about ten
times slower per batch (the README's Performance section has the figures).

Where a commit never waits for the disk (`synchronous` OFF or NORMAL, the
default: in WAL mode such a commit appends to the log and returns), the batch
runs on the event loop's own thread instead: no thread hop, no GIL hand-over,
about 0.5 ms less client CPU per streamed reply at concurrency 20 (the
README's Performance section). What does wait for the disk moves off the loop:
the log's checkpoints (`wal_autocheckpoint` is off) run on the store's thread,
on a connection of their own, every `checkpoint_rows` rows. With FULL or EXTRA
every commit waits for the disk, and batches stay on the store's thread.

The chats' context reads, asked before every request, go through the same
queue, so a read sees every write queued before it, and one query answers
every chat asked in a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..._exceptions import ConfigurationError, StoreError
from .._base import Store
from .._batching import Writer
from .._records import RequestRecord, ResponseRecord, Turn, turns_within
from .._schemas import Schema
from . import _sync

__all__ = ["SQLiteStore"]

log = logging.getLogger("llmhub.store")
T = TypeVar("T")

_INSERT_REQUEST = (
    "INSERT INTO requests (id, chat_id, user_id, provider, model, prompt, created_at,"
    " context_turns, first_request_id, replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET"
    " chat_id = excluded.chat_id, user_id = excluded.user_id, provider = excluded.provider,"
    " model = excluded.model, prompt = excluded.prompt, created_at = excluded.created_at,"
    " context_turns = excluded.context_turns, first_request_id = excluded.first_request_id,"
    " replaces = excluded.replaces"
)
_INSERT_RESPONSE = (
    "INSERT INTO responses (request_id, status, text, created_at, latency_ms, finish_reason,"
    " prompt_tokens, completion_tokens, total_tokens, error_type, error_message, cost_usd)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET"
    " status = excluded.status, text = excluded.text, created_at = excluded.created_at,"
    " latency_ms = excluded.latency_ms, finish_reason = excluded.finish_reason,"
    " prompt_tokens = excluded.prompt_tokens, completion_tokens = excluded.completion_tokens,"
    " total_tokens = excluded.total_tokens, error_type = excluded.error_type,"
    " error_message = excluded.error_message, cost_usd = excluded.cost_usd"
)


@dataclass(slots=True)
class _Write:
    sql: str
    params: Sequence[Any] | Mapping[str, Any]
    done: asyncio.Future[None] | None = field(default=None)


@dataclass(slots=True)
class _TurnsRead:
    """A chat's recent turns, read after the writes queued before it."""

    chat_id: str
    max_turns: int
    done: asyncio.Future[list[tuple[str, str, str, bool]]]


_STOP = _Write("", ())
_Job = _Write | _TurnsRead


def _nothing_unsettled(_: list[_Job]) -> list[_Job]:
    return []  # a batch on the store's thread always completes and wakes its callers


def _settle_future(
    writes: list[_Write], reads: list[_TurnsRead], future: Future[_sync.BatchResult]
) -> None:
    error = future.exception()
    _settle(writes, reads, None if error is not None else future.result(), error)


def _settle(
    writes: list[_Write],
    reads: list[_TurnsRead],
    result: _sync.BatchResult | None,
    error: BaseException | None,
) -> None:
    """Wake a batch's callers with its outcome (`result`, or the `error` it failed with)."""
    if result is None:
        error = error or StoreError("the batch produced no result")
        log.error("store: a batch of %d jobs failed", len(writes) + len(reads), exc_info=error)
        for write in writes:
            if write.done is not None and not write.done.done():
                write.done.set_exception(error)
        for read in reads:
            if not read.done.done():
                read.done.set_exception(error)
        return
    for write, failure in zip(writes, result.write_errors, strict=True):
        if write.done is None:
            if failure is not None:
                log.error("store: a queued row could not be written: %s", failure)
        elif not write.done.done():
            if failure is None:
                write.done.set_result(None)
            else:
                write.done.set_exception(failure)
    for read in reads:
        if not read.done.done():
            read.done.set_result(result.turns[read.chat_id][: read.max_turns])


class SQLiteStore(Store):
    """A `Store` in one SQLite file (WAL mode), or in memory with `":memory:"`."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "NORMAL",
        batch_size: int = 500,
        checkpoint_rows: int = 1000,
    ) -> None:
        super().__init__()
        self.path = path
        self.synchronous = synchronous
        self.batch_size = batch_size
        #: Batches on the loop's thread: only where a commit never waits for the disk
        #: (and for a file: reads and checkpoints use a second connection to it).
        self.in_loop = synchronous.upper() in ("OFF", "NORMAL") and path != ":memory:"
        self.checkpoint_rows = checkpoint_rows
        #: Checkpoints run since the store opened (a test reads it).
        self.checkpoints = 0
        self._rows_since_checkpoint = 0
        self._checkpointing: asyncio.Future[None] | None = None
        self._db: sqlite3.Connection | None = None
        #: The store thread's own connection, for `fetch()` and checkpoints, when
        #: batches run on the loop (one connection is never used by two threads).
        self._reader: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._writer: Writer[_Job] | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        if self._db is not None:
            return
        # One thread owns the connection; sqlite3 objects stay on the thread that made them.
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmhub-store")
        loop = asyncio.get_running_loop()
        try:
            db = await loop.run_in_executor(
                thread, _sync.connect, self.path, self.synchronous, self.in_loop
            )
            if self.in_loop:
                self._reader = await loop.run_in_executor(thread, _sync.reader, self.path)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        self._thread, self._db = thread, db
        self._writer = Writer(
            lambda batch: self._write_batch(db, batch), _nothing_unsettled, _STOP, self.batch_size
        )
        self._writer.start()

    async def close(self) -> None:
        db, thread = self._db, self._thread
        if db is None or thread is None:
            return
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._checkpointing is not None:
            await asyncio.wait([self._checkpointing])
        reader, self._reader = self._reader, None
        self._db = self._thread = None
        loop = asyncio.get_running_loop()
        if reader is not None:
            await loop.run_in_executor(thread, reader.close)
        # The loop's connection was made on the store's thread; closed there too.
        await loop.run_in_executor(thread, db.close)
        thread.shutdown(wait=True)

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on the store's thread."""
        if self._thread is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    @classmethod
    def from_url(cls, url: str, *, synchronous: str = "NORMAL") -> SQLiteStore:
        """`sqlite:///relative.db`, `sqlite:////absolute/path.db`, `sqlite:///:memory:`."""
        rest = url.partition("://")[2]
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ConfigurationError("LLMHUB_DATABASE_URL names no file: use sqlite:///llmhub.db")
        return cls(path, synchronous=synchronous)

    async def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        db = self._reader or self._db
        if db is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        args = params or {}
        try:
            rows = await self._call(lambda: db.execute(sql, args).fetchall())
        except sqlite3.Error as exc:
            raise StoreError(f"could not read from {self.path!r}: {exc}") from exc
        return [dict(row) for row in rows]

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await self._write(sql, params or {})

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        for params in rows[:-1]:
            self._enqueue(_Write(sql, params))
        await self._write(sql, rows[-1])  # the batch is in order: the last one waits for all

    async def execute_exclusive(
        self, key: int, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await self._exclusive([(sql, params or {})])

    async def execute_script(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        await self._exclusive(statements)

    async def _exclusive(
        self, statements: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[dict[str, Any]]:
        """One transaction under the write lock (which excludes every other writer), on
        the store's thread and the reading connection: the writer's batches never hold
        the lock between two of its calls, and queued writes go on meanwhile."""
        db = self._reader or self._db
        if db is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        try:
            rows = await self._call(_sync.exclusive, db, statements)
        except sqlite3.Error as exc:
            raise StoreError(f"could not write to {self.path!r}: {exc}") from exc
        return [dict(row) for row in rows]

    async def _migrate_schema(self, schema: Schema) -> None:
        db = self._reader or self._db
        if db is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        try:
            await self._call(_sync.migrate_schema, db, schema, self.path)
        except sqlite3.Error as exc:
            raise StoreError(f"could not migrate {schema.name} in {self.path!r}: {exc}") from exc

    async def schema_version(self) -> int:
        [row] = await self.fetch("PRAGMA user_version")
        return int(row["user_version"])

    # -- the writer ----------------------------------------------------------------

    async def _write(self, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Write(sql, params, done))
        try:
            await done
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"could not write to {self.path!r}: {exc}") from exc

    def _enqueue(self, job: _Job) -> None:
        if self._writer is None:
            raise ConfigurationError("the store is closed")
        self._writer.put(job)

    async def _write_batch(self, db: sqlite3.Connection, batch: list[_Job]) -> None:
        try:
            await self._flush(db, batch)
        except Exception as exc:
            # Never let the writer die: a dead writer would leave every later
            # caller waiting forever. Fail this batch's callers and go on.
            log.exception("store: a batch of %d jobs failed", len(batch))
            for job in batch:
                if job.done is not None and not job.done.done():
                    job.done.set_exception(exc)

    async def _flush(self, db: sqlite3.Connection, batch: list[_Job]) -> None:
        """Run the batch, on the loop's thread or the store's (see the module's
        docstring); its callers are woken with its outcome.

        On the store's thread, waking them does not depend on this coroutine:
        should the loop's end cancel it midway, the batch still completes and
        its callers still wake.
        """
        assert self._thread is not None
        writes = [job for job in batch if isinstance(job, _Write)]
        reads = [job for job in batch if isinstance(job, _TurnsRead)]
        chats = list(dict.fromkeys(read.chat_id for read in reads))
        max_turns = max((read.max_turns for read in reads), default=0)
        rows = [(w.sql, w.params) for w in writes]
        if self.in_loop:
            try:
                result = _sync.run_batch(db, rows, chats, max_turns)
            except Exception as exc:
                _settle(writes, reads, None, exc)
            else:
                _settle(writes, reads, result, None)
            self._checkpoint_now_and_then(len(writes))
            return
        loop = asyncio.get_running_loop()
        future = self._thread.submit(_sync.run_batch, db, rows, chats, max_turns)

        def wake(_: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_settle_future, writes, reads, future)

        future.add_done_callback(wake)
        await asyncio.wait([asyncio.wrap_future(future)])

    def _checkpoint_now_and_then(self, written: int) -> None:
        """Every `checkpoint_rows` rows, copy the log into the database on the store's
        thread (on a connection of its own: the loop's connection is not blocked)."""
        self._rows_since_checkpoint += written
        if (
            self._rows_since_checkpoint < self.checkpoint_rows
            or self._checkpointing is not None
            or self._thread is None
            or self._reader is None
        ):
            return
        self._rows_since_checkpoint = 0
        future = asyncio.get_running_loop().run_in_executor(
            self._thread, _sync.checkpoint, self._reader
        )
        self._checkpointing = future

        def done(finished: asyncio.Future[None]) -> None:
            self._checkpointing = None
            if finished.cancelled():
                return
            if finished.exception() is not None:
                log.warning("store: checkpoint failed: %s", finished.exception())
            else:
                self.checkpoints += 1

        future.add_done_callback(done)

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
                    record.first_request_id,
                    record.replaces,
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
                record.cost_usd,
            ),
        )

    # -- chats -------------------------------------------------------------------------

    async def _turn_rows(self, chat_id: str, max_turns: int) -> list[tuple[str, str, str, bool]]:
        """Newest first, through the writer's queue (see the module's docstring)."""
        if max_turns <= 0:
            return []
        done: asyncio.Future[list[tuple[str, str, str, bool]]] = (
            asyncio.get_running_loop().create_future()
        )
        self._enqueue(_TurnsRead(chat_id, max_turns, done))
        try:
            return await done
        except Exception as exc:
            raise StoreError(f"could not read from {self.path!r}: {exc}") from exc

    async def recent_turns(
        self, chat_id: str, max_turns: int, max_chars: int, *, exclude: Collection[str] = ()
    ) -> list[Turn]:
        if max_turns <= 0:
            return []
        rows = await self._turn_rows(chat_id, max_turns + len(exclude))
        return turns_within(rows, max_chars, max_turns, exclude)

    async def ping(self) -> bool:
        try:
            await self.fetch("SELECT 1")
        except (StoreError, ConfigurationError):
            return False
        return True

    def __repr__(self) -> str:
        return f"<SQLiteStore {self.path!r} {'open' if self._db else 'closed'}>"
