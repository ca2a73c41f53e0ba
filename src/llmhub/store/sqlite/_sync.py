"""What runs on the store's own thread: opening, migrating, and one whole batch.

Each function here is called in one hop from the event loop (see `_sqlite`),
so a batch of any size costs one thread round trip.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import Any

from ..._exceptions import ConfigurationError
from .._base import NOT_REPLACED
from .._migrations import MADE_BEFORE_HAND_OVER
from .._schemas import CORE_SCHEMA, Schema

__all__ = [
    "BatchResult",
    "checkpoint",
    "connect",
    "exclusive",
    "migrate_schema",
    "reader",
    "run_batch",
]

log = logging.getLogger("llmhub.store")

# One query for every chat whose turns are asked in the same batch.
_TURNS_OF_CHATS = f"""
SELECT chat_id, prompt, text, turn_id, has_tools FROM (
    SELECT q.chat_id, q.prompt, r.text, COALESCE(q.first_request_id, q.id) AS turn_id,
        EXISTS (SELECT 1 FROM tool_calls t WHERE t.request_id = COALESCE(q.first_request_id, q.id))
            AS has_tools,
        ROW_NUMBER() OVER (PARTITION BY q.chat_id ORDER BY q.created_at DESC, q.rowid DESC) AS n
    FROM requests q
    JOIN responses r ON r.request_id = q.id
    LEFT JOIN chats c ON c.chat_id = q.chat_id
    WHERE q.chat_id IN ({{marks}}) AND r.status = 'ok' AND q.created_at > COALESCE(c.context_since, 0)
    AND {NOT_REPLACED}
) WHERE n <= ? ORDER BY chat_id, n
"""  # noqa: S608 - a constant


def connect(path: str, synchronous: str, in_loop: bool = False) -> sqlite3.Connection:
    """Open `path` in WAL mode and bring its schema up to date.

    `in_loop`: the connection will run its batches on the event loop's thread, so
    it may be used from another thread than this one, and it never checkpoints
    on commit (the store's thread does, see `checkpoint`).
    """
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=5.0, check_same_thread=not in_loop)
    except sqlite3.Error as exc:
        raise ConfigurationError(f"cannot open the database {path!r}: {exc}") from exc
    db.row_factory = sqlite3.Row  # rows are read by column name
    try:
        if path != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        db.execute("PRAGMA foreign_keys = ON")
        if in_loop and path != ":memory:":
            db.execute("PRAGMA wal_autocheckpoint = 0")
        _migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


def reader(path: str) -> sqlite3.Connection:
    """A second connection to an opened store's file, for the store's thread: its
    reads and checkpoints, while the batches run on the loop's connection."""
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    db.row_factory = sqlite3.Row
    return db


def checkpoint(db: sqlite3.Connection) -> None:
    """Copy the write-ahead log into the database (PASSIVE: writers go on
    meanwhile; what they add waits for the next checkpoint)."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _migrate(db: sqlite3.Connection, path: str) -> None:
    """The core's schema, its version in `PRAGMA user_version`."""
    migrate_schema(db, CORE_SCHEMA, path)


def _version_of(db: sqlite3.Connection, schema: Schema) -> int:
    """Where a schema's version is kept: the core's in `PRAGMA user_version`, a
    package's in `llmhub_schemas`."""
    if schema is CORE_SCHEMA:
        return schema_version(db)
    row = db.execute("SELECT version FROM llmhub_schemas WHERE name = ?", (schema.name,)).fetchone()
    return int(row[0]) if row else 0


def _set_version(db: sqlite3.Connection, schema: Schema, version: int) -> None:
    if schema is CORE_SCHEMA:
        db.execute(f"PRAGMA user_version = {int(version)}")
        return
    db.execute(
        "INSERT INTO llmhub_schemas (name, version) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        (schema.name, version),
    )


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def migrate_schema(db: sqlite3.Connection, schema: Schema, path: str) -> None:
    """Bring `schema` up to date, each version in one transaction under the write
    lock, its version read again inside it (another process may have migrated
    meanwhile); a database whose version is newer is refused."""
    if _version_of(db, schema) == schema.version:
        return  # up to date: no write lock taken
    for version in range(1, schema.version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            current = _version_of(db, schema)
            if current > schema.version:
                raise ConfigurationError(
                    f"the database {path!r} has {schema.name} schema version {current},"
                    f" newer than this {schema.name}'s {schema.version}; upgrade {schema.name}"
                )
            if current < version:
                migration = schema.migrations[version - 1]
                upgrading = migration.handed_over is not None and _has_table(
                    db, MADE_BEFORE_HAND_OVER
                )
                for statement in migration.statements("sqlite", upgrading=upgrading):
                    db.execute(statement)
                _set_version(db, schema, version)
                log.info("store %s: %s migrated to version %d", path, schema.name, version)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


#: What one row can raise besides SQLite's own errors: an integer past 64 bits
#: (OverflowError), text that is not valid Unicode (UnicodeEncodeError), a value
#: sqlite3 cannot bind (ValueError). A batch never fails for another caller's row.
_ROW_ERRORS = (sqlite3.Error, OverflowError, UnicodeEncodeError, ValueError)


@dataclass(slots=True)
class BatchResult:
    """Per write: `None` when written, else its error. Per chat asked: its turns, newest first."""

    write_errors: list[Exception | None]
    turns: dict[str, list[tuple[str, str, str, bool]]]


def exclusive(
    db: sqlite3.Connection, statements: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[sqlite3.Row]:
    """Run `statements` under the database's write lock, in one transaction of their
    own; the last one's rows."""
    db.execute("BEGIN IMMEDIATE")
    rows: list[sqlite3.Row] = []
    try:
        for sql, params in statements:
            rows = db.execute(sql, params).fetchall()
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return rows


def run_batch(
    db: sqlite3.Connection,
    writes: Sequence[tuple[str, Sequence[Any] | Mapping[str, Any]]],
    chats: Sequence[str],
    max_turns: int,
) -> BatchResult:
    """Write `writes` in one transaction (row by row if it fails, to keep the
    good rows), then read the turns of `chats`: all in one call on this thread."""
    errors: list[Exception | None] = [None] * len(writes)
    if writes:
        try:
            db.execute("BEGIN")
            for sql, group in groupby(writes, key=lambda write: write[0]):
                db.executemany(sql, [params for _, params in group])
            db.execute("COMMIT")
        except _ROW_ERRORS:
            if db.in_transaction:
                db.execute("ROLLBACK")
            for i, (sql, params) in enumerate(writes):
                try:
                    db.execute(sql, params)
                except _ROW_ERRORS as exc:  # this row's caller hears of it, no one else
                    errors[i] = exc
    turns: dict[str, list[tuple[str, str, str, bool]]] = {chat: [] for chat in chats}
    if chats:
        sql = _TURNS_OF_CHATS.format(marks=", ".join("?" * len(chats)))
        for row in db.execute(sql, [*chats, max_turns]):
            turns[str(row["chat_id"])].append(
                (str(row["prompt"]), str(row["text"]), str(row["turn_id"]), bool(row["has_tools"]))
            )
    return BatchResult(errors, turns)
