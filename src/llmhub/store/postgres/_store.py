"""The PostgreSQL store: psycopg 3 with a connection pool, one writer task,
grouped commits.

Why psycopg 3: it ships type hints (the project is `mypy --strict`), pipelines
`executemany`, and with grouped commits it logs as fast as asyncpg
(`bench/store.py` measures both); asyncpg has no types and resets every
pooled connection on release.

Why one writer: a commit costs far more than a row. Every write goes through a
queue to one task that takes whatever has accumulated, writes it in one
transaction (`executemany` per run of the same statement) and commits once.
A batch with one bad row fails whole: it is then written row by row, so the
good rows are kept and only the bad one's caller gets the error. Several
processes may write one database at once: rows never conflict (request ids are
unique: the time, then 80 random bits), so no process waits on another's lock.

Times that order a chat's turns (`requests.created_at`, `chats.context_since`)
are the server's clock, not the replicas', whose clocks differ. No prepared
statements (`prepare_threshold=None`): fresh tables would get generic plans
that stay slow, and poolers such as pgbouncer break them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlsplit

import psycopg
import psycopg_pool
from psycopg.rows import dict_row

from ..._exceptions import ConfigurationError, StoreError
from .. import redact_url
from .._base import NOT_REPLACED, Store
from .._batching import Writer
from .._migrations import MADE_BEFORE_HAND_OVER
from .._records import RequestRecord, ResponseRecord, Turn, turns_within
from .._schemas import CORE_SCHEMA, Schema
from ._batch import INSERT_REQUEST, INSERT_RESPONSE, statements

__all__ = ["PostgresStore"]

log = logging.getLogger("llmhub.store")

#: The advisory lock replicas take to migrate one at a time ("llmhub" in ASCII).
MIGRATION_LOCK = 0x6C6C6D687562

_TURNS = (
    "SELECT q.prompt, r.text, COALESCE(q.first_request_id, q.id) AS turn_id,"  # noqa: S608 - constants only
    " EXISTS (SELECT 1 FROM tool_calls t WHERE t.request_id = COALESCE(q.first_request_id, q.id))"
    " AS has_tools"
    " FROM requests q JOIN responses r ON r.request_id = q.id"
    " WHERE q.chat_id = %(chat)s AND r.status = 'ok' AND q.created_at >"
    " COALESCE((SELECT context_since FROM chats WHERE chat_id = %(chat)s), 0)"
    f" AND {NOT_REPLACED}"
    " ORDER BY q.created_at DESC, q.id DESC LIMIT %(limit)s"
)
#: Seconds a read or a transaction waits for a database that is away (a restart
#: takes a few) before it fails.
AWAY_PATIENCE = 15.0
_E = TypeVar("_E", bound=Exception)
_T = TypeVar("_T")
#: A database that is away rather than refusing a row: connection and pool errors.
_AWAY = (psycopg.OperationalError, psycopg_pool.PoolTimeout, OSError)
_Pool: TypeAlias = psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]]
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def to_pyformat(sql: str) -> str:
    """Portable `:name` parameters as psycopg's `%(name)s`."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


@dataclass(slots=True)
class _Write:
    sql: str
    params: Mapping[str, Any]
    done: asyncio.Future[None] | None = field(default=None)


_STOP = _Write("", {})


def _unsettled(batch: list[_Write]) -> list[_Write]:
    """The writes of a batch cancelled midway: its transaction was rolled back, so
    everything not yet answered goes again (the log's rows are upserts)."""
    return [job for job in batch if job.done is None or not job.done.done()]


class PostgresStore(Store):
    """A `Store` in a PostgreSQL database (`postgresql://user:password@host:port/db`)."""

    dialect = "postgres"

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        batch_size: int = 500,
        hold_rows: int = 100_000,
    ) -> None:
        super().__init__()
        self._url = url
        self.min_size = min_size
        self.max_size = max_size
        self.batch_size = batch_size
        self.hold_rows = hold_rows
        self._pool: _Pool | None = None
        self._writer: Writer[_Write] | None = None
        #: Rows a batch could not write because the database was away (a restart, a
        #: dropped connection), held in order and written again, at most `hold_rows`.
        self._held: list[_Write] = []
        self._retrying: asyncio.Task[None] | None = None

    @classmethod
    def from_url(cls, url: str, **_: Any) -> PostgresStore:
        """`postgresql://…` or `postgres://…`, as libpq understands it."""
        scheme, _sep, rest = url.partition("://")
        return cls(f"postgresql://{rest}" if scheme.startswith("postgres") else url)

    @property
    def url(self) -> str:
        """The database URL with its password hidden."""
        return redact_url(self._url)

    # -- lifecycle ---------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            return
        options: dict[str, Any] = {
            "autocommit": True,
            "prepare_threshold": None,
            "row_factory": dict_row,
        }
        # One plain connection first: it fails at once with libpq's reason (a pool
        # would retry until its timeout), and it runs the migrations.
        try:
            conn = await psycopg.AsyncConnection.connect(self._url, connect_timeout=10, **options)
        except psycopg.Error as exc:
            raise self._failure(
                ConfigurationError, f"cannot open the database {self.url}", exc
            ) from self._cause(exc)
        async with conn:
            try:
                await self._migrate(conn)
            except psycopg.Error as exc:
                raise self._failure(
                    StoreError, f"could not migrate {self.url}", exc
                ) from self._cause(exc)
        pool: _Pool = psycopg_pool.AsyncConnectionPool(
            self._url,
            min_size=self.min_size,
            max_size=self.max_size,
            open=False,
            kwargs=options,
            name="llmhub-store",
            # Waiting longer for a connection only holds every caller up when the
            # database is away; past this its rows are held and written later.
            timeout=5.0,
        )
        try:
            await pool.open(wait=True, timeout=15.0)
        except psycopg_pool.PoolTimeout as exc:
            await pool.close()
            raise ConfigurationError(
                f"cannot open the database {self.url}: no pooled connection within 15 s"
            ) from exc
        self._pool = pool
        self._writer = Writer(self._write_batch, _unsettled, _STOP, self.batch_size)
        self._writer.start()

    def _scrub(self, exc: BaseException) -> str:
        """The error's text, without the URL's password should libpq repeat it."""
        password = urlsplit(self._url).password
        text = str(exc).strip()
        return text.replace(password, "***") if password else text

    def _failure(self, kind: type[_E], what: str, exc: BaseException) -> _E:
        """The error to raise for the driver's `exc`: "`what`: libpq's reason", scrubbed."""
        return kind(f"{what}: {self._scrub(exc)}")

    def _cause(self, exc: BaseException) -> BaseException | None:
        """`exc` to keep as the `__cause__` of the error raised for it: itself, or, should
        its text hold the password, a copy of its class with the text scrubbed."""
        text = self._scrub(exc)
        if text == str(exc).strip():
            return exc
        return psycopg.Error(text) if isinstance(exc, psycopg.Error) else None

    async def close(self) -> None:
        pool = self._pool
        if pool is None:
            return
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
        if self._held:  # one last try before the pool goes
            rows, self._held = self._held, []
            try:
                async with asyncio.timeout(10.0):
                    await self._flush(rows)
            except Exception as exc:
                log.error("store: %d held rows lost at close: %s", len(rows), self._scrub(exc))
        self._pool = None
        await pool.close()

    async def _migrate(self, conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
        """The core's schema, its version in `llmhub_schema`."""
        await self._migrate_on(conn, CORE_SCHEMA)
        # No ANALYZE here: statistics of empty tables would plan every foreign-key
        # check of `responses` as a scan of `requests`, slower with every row
        # (the README's Performance section has the figures). Without them the
        # planner assumes a table worth an index until autovacuum analyzes it.

    async def _migrate_schema(self, schema: Schema) -> None:
        try:
            async with self._pool_or_raise().connection() as conn:
                await self._migrate_on(conn, schema)
        except psycopg.Error as exc:
            raise self._failure(
                StoreError, f"could not migrate {schema.name} in {self.url}", exc
            ) from self._cause(exc)

    async def _migrate_on(
        self, conn: psycopg.AsyncConnection[dict[str, Any]], schema: Schema
    ) -> None:
        """Bring `schema` up to date, each missing version in one transaction under
        the advisory lock, its version read again inside it (replicas starting
        together migrate once); a database whose version is newer is refused."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            if await _version_of(conn, schema) == schema.version:
                return
        for version in range(1, schema.version + 1):
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                current = await _version_of(conn, schema)
                if current > schema.version:
                    raise ConfigurationError(
                        f"the database {self.url} has {schema.name} schema version {current},"
                        f" newer than this {schema.name}'s {schema.version}; upgrade {schema.name}"
                    )
                if current >= version:
                    continue
                migration = schema.migrations[version - 1]
                upgrading = migration.handed_over is not None and await _has_table(
                    conn, MADE_BEFORE_HAND_OVER
                )
                for statement in migration.statements("postgres", upgrading=upgrading):
                    await conn.execute(statement)
                await _set_version(conn, schema, version)
                log.info("store %s: %s migrated to version %d", self.url, schema.name, version)

    def _pool_or_raise(self) -> _Pool:
        if self._pool is None:
            raise ConfigurationError("the store is not open; call `await store.open()` first")
        return self._pool

    # -- plain SQL ------------------------------------------------------------------

    async def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await self._fetch(to_pyformat(sql), params or {})

    async def _fetch(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            async with self._pool_or_raise().connection() as conn:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall()

        try:
            return await self._patiently(read)
        except psycopg.Error as exc:
            raise self._failure(
                StoreError, f"could not read from {self.url}", exc
            ) from self._cause(exc)

    async def _patiently(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """`attempt()`, tried again while the database is away, for up to
        `AWAY_PATIENCE` seconds: a restart (or a pooled connection the server
        dropped) holds the caller up for a moment instead of failing its answer.
        While rows held through an outage wait to be written it waits too, so what
        it reads includes them (a chat's last answer in its next context). A
        statement the server refused is not tried again."""
        deadline = time.monotonic() + AWAY_PATIENCE
        delay = 0.05
        while True:
            if self._held:  # rows held through an outage come first: a read must see them
                reason = f"{len(self._held)} rows held are not written yet"
            else:
                try:
                    return await attempt()
                except _AWAY as exc:
                    reason = self._scrub(exc)
                    await self._discard_broken()
            if time.monotonic() + delay > deadline:
                raise StoreError(f"the database {self.url} is away: {reason}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        await self._write(to_pyformat(sql), params or {})

    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        statement = to_pyformat(sql)
        for params in rows[:-1]:
            self._enqueue(_Write(statement, params))
        await self._write(statement, rows[-1])

    async def execute_exclusive(
        self, key: int, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await self._transaction(key, [(sql, params or {})])

    async def execute_script(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        await self._transaction(None, statements)

    async def _transaction(
        self, key: int | None, statements: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> list[dict[str, Any]]:
        """The statements in one transaction, under the advisory lock `key` if given;
        the last one's rows."""

        async def run() -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            async with self._pool_or_raise().connection() as conn, conn.transaction():
                if key is not None:
                    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
                # Each statement after the lock has a snapshot of its own, which sees
                # every write committed by the lock's previous holder.
                for sql, params in statements:
                    cursor = await conn.execute(to_pyformat(sql), params)
                    rows = await cursor.fetchall() if cursor.description else []
            return rows

        try:
            return await self._patiently(run)
        except psycopg.Error as exc:
            raise self._failure(StoreError, f"could not write to {self.url}", exc) from self._cause(
                exc
            )

    async def schema_version(self) -> int:
        async with self._pool_or_raise().connection() as conn:
            return await _version_of(conn, CORE_SCHEMA)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(5.0):
                await self._fetch("SELECT 1", {})
        except (StoreError, ConfigurationError, TimeoutError, psycopg_pool.PoolTimeout):
            return False
        return True

    # -- the writer ----------------------------------------------------------------

    async def _write(self, sql: str, params: Mapping[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_Write(sql, params, done))
        await done

    def _enqueue(self, job: _Write) -> None:
        if self._writer is None:
            raise ConfigurationError("the store is closed")
        self._writer.put(job)

    @property
    def held_rows(self) -> int:
        """Rows waiting for the database to come back (`degraded` while there are any)."""
        return len(self._held)

    async def _write_batch(self, batch: list[_Write]) -> None:
        if self._held and self._hold(batch, None):
            return  # the database is away: behind the held rows, in order, at once
        try:
            errors = await self._flush(batch)
        except _AWAY as exc:
            if self._hold(batch, exc):
                return
            errors = [exc] * len(batch)
        except Exception as exc:
            # Never let the writer die: a dead writer leaves every later caller waiting.
            log.exception("store: a batch of %d writes failed", len(batch))
            errors = [exc] * len(batch)
        for job, error in zip(batch, errors, strict=True):
            if job.done is None:
                if error is not None:
                    log.error("store: a queued row could not be written: %s", error)
            elif not job.done.done():
                if error is None:
                    job.done.set_result(None)
                else:
                    job.done.set_exception(StoreError(f"could not write to {self.url}: {error}"))

    def _hold(self, batch: list[_Write], exc: BaseException | None) -> bool:
        """Keep a batch the database was away for, to write again; its callers go on
        (an answer already given is not taken back for a log row). `False` when the
        hold is full: the batch fails as before."""
        if len(self._held) + len(batch) > self.hold_rows:
            log.error(
                "store: %d rows held already; a batch of %d fails", len(self._held), len(batch)
            )
            return False
        if not self._held and exc is not None:
            log.warning("store: the database is away (%s); holding rows", self._scrub(exc))
        for job in batch:
            if job.done is not None and not job.done.done():
                job.done.set_result(None)
            self._held.append(_Write(job.sql, job.params))
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry_held(), name="llmhub-store-retry")
        return True

    async def _retry_held(self) -> None:
        """Write the held rows again, waiting longer each time the database is away.
        They stay held (counted, and written at close) until they are written."""
        wait = 0.2
        while self._held and self._writer is not None:
            await asyncio.sleep(wait)
            rows = list(self._held)
            try:
                errors = await self._flush(rows)
            except _AWAY:
                await self._discard_broken()
                wait = min(wait * 2, 2.0)  # short: reads wait for these rows
                continue
            except Exception:
                log.exception("store: %d held rows could not be written", len(rows))
                return
            del self._held[: len(rows)]  # rows held meanwhile stay, in order
            failed = [error for error in errors if error is not None]
            for error in failed:
                log.error("store: a held row could not be written: %s", error)
            log.warning(
                "store: the database is back; %d held rows written", len(rows) - len(failed)
            )

    async def _discard_broken(self) -> None:
        """After a restart every idle pooled connection is dead, and the pool finds
        out only as each is handed out: one failed try each. Checking them all once
        (a round trip each, only after a failure) spares the tries that follow."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.check()

    async def _flush(self, batch: list[_Write]) -> list[BaseException | None]:
        """Write the batch in one transaction; if that fails, row by row."""
        pool = self._pool_or_raise()
        async with pool.connection() as conn:
            try:
                # One round trip for the whole batch: its statements are pipelined.
                writes = [(job.sql, job.params) for job in batch]
                async with conn.transaction(), conn.pipeline(), conn.cursor() as cursor:
                    for sql, params in statements(writes):
                        await cursor.executemany(sql, params)
                return [None] * len(batch)
            except psycopg.Error:
                if conn.broken:
                    raise
            errors: list[BaseException | None] = []
            for job in batch:
                try:
                    async with conn.transaction():
                        for sql, params in statements([(job.sql, job.params)]):
                            await conn.execute(sql, params[0])
                    errors.append(None)
                except psycopg.Error as exc:
                    errors.append(exc)
            return errors

    # -- the log -----------------------------------------------------------------------

    async def log_request(self, record: RequestRecord) -> None:
        self._enqueue(
            _Write(
                INSERT_REQUEST,
                {
                    "id": record.id,
                    "chat_id": record.chat_id,
                    "user_id": record.user_id,
                    "provider": record.provider,
                    "model": record.model,
                    "prompt": record.prompt,
                    "context_turns": record.context_turns,
                    "first_request_id": record.first_request_id,
                    "replaces": record.replaces,
                },
            )
        )

    async def log_response(self, record: ResponseRecord) -> None:
        await self._write(
            INSERT_RESPONSE,
            {
                "request_id": record.request_id,
                "status": record.status,
                "text": record.text,
                "created_at": record.created_at,
                "latency_ms": record.latency_ms,
                "finish_reason": record.finish_reason,
                "prompt_tokens": record.prompt_tokens,
                "completion_tokens": record.completion_tokens,
                "total_tokens": record.total_tokens,
                "error_type": record.error_type,
                "error_message": record.error_message,
                "cost_usd": record.cost_usd,
            },
        )

    async def recent_turns(
        self, chat_id: str, max_turns: int, max_chars: int, *, exclude: Collection[str] = ()
    ) -> list[Turn]:
        if max_turns <= 0:
            return []
        limit = max_turns + len(exclude)
        rows = await self._fetch(_TURNS, {"chat": chat_id, "limit": limit})
        return turns_within(
            ((row["prompt"], row["text"], row["turn_id"], row["has_tools"]) for row in rows),
            max_chars,
            max_turns,
            exclude,
        )

    async def reset_context(self, chat_id: str) -> None:
        # The server's clock, as `requests.created_at` is.
        await self._write(
            "INSERT INTO chats (chat_id, context_since, updated_at)"
            " VALUES (%(chat)s, EXTRACT(EPOCH FROM clock_timestamp()),"
            " EXTRACT(EPOCH FROM clock_timestamp())) ON CONFLICT (chat_id) DO UPDATE"
            " SET context_since = excluded.context_since, updated_at = excluded.updated_at",
            {"chat": chat_id},
        )

    def __repr__(self) -> str:
        return f"<PostgresStore {self.url} {'open' if self._pool else 'closed'}>"


async def _has_table(conn: psycopg.AsyncConnection[dict[str, Any]], name: str) -> bool:
    cursor = await conn.execute("SELECT to_regclass(%s) IS NOT NULL AS found", (name,))
    row = await cursor.fetchone()
    return bool(row and row["found"])


async def _version_of(conn: psycopg.AsyncConnection[dict[str, Any]], schema: Schema) -> int:
    """Where a schema's version is kept: the core's in `llmhub_schema` (made here on a
    new database), a package's in `llmhub_schemas`."""
    if schema is not CORE_SCHEMA:
        cursor = await conn.execute(
            "SELECT version FROM llmhub_schemas WHERE name = %s", (schema.name,)
        )
        found = await cursor.fetchone()
        return int(found["version"]) if found else 0
    await conn.execute("CREATE TABLE IF NOT EXISTS llmhub_schema (version INTEGER NOT NULL)")
    cursor = await conn.execute("SELECT version FROM llmhub_schema")
    row = await cursor.fetchone()
    if row is None:
        await conn.execute("INSERT INTO llmhub_schema (version) VALUES (0)")
        return 0
    return int(row["version"])


async def _set_version(
    conn: psycopg.AsyncConnection[dict[str, Any]], schema: Schema, version: int
) -> None:
    if schema is CORE_SCHEMA:
        await conn.execute("UPDATE llmhub_schema SET version = %s", (version,))
        return
    await conn.execute(
        "INSERT INTO llmhub_schemas (name, version) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        (schema.name, version),
    )
