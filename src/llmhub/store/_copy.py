"""Copying a whole store to another (`llmhub db copy`), e.g. SQLite to PostgreSQL.

Tables go over in an order that keeps every reference valid, page by page in
primary-key order, each row as it was (times included). A row already in the
target is left as it is, so a copy cut short can simply be run again. At the
end both sides are counted and digested table by table: the copy is good when
every count and digest agree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .._exceptions import StoreError
from ._base import Store

__all__ = ["TABLES", "CopyReport", "TableDigest", "copy_store", "digest", "tables_of"]

#: Every table of the schema with its primary key, referenced tables first.
TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "models": ("provider", "model"),
    "chats": ("chat_id",),
    "requests": ("id",),
    "responses": ("request_id",),
    "tool_calls": ("request_id", "step", "seq"),
    "embeddings": ("id",),
    "usage_limits": ("user_id",),
    "usage_counters": ("user_id", "period"),
    "usage_holds": ("request_id",),
    "forgotten_usage": (
        "provider",
        "day",
        "requests",
        "errors",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    ),
}
#: Tables without a primary key: copied whole into an empty table only.
_KEYLESS = frozenset({"forgotten_usage"})
#: Tables a backend keeps for itself (PostgreSQL's schema version).
_OWN = frozenset({"llmhub_schema"})
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class TableDigest:
    """A table's row count and a SHA-256 of its rows in primary-key order."""

    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CopyReport:
    """Per table: what the source holds, and what the target holds after the copy."""

    source: dict[str, TableDigest]
    target: dict[str, TableDigest]

    @property
    def identical(self) -> bool:
        return self.source == self.target


async def _pages(store: Store, table: str) -> AsyncIterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order, a page at a time."""
    key = TABLES[table]
    order = ", ".join(key)
    if len(key) > 1:  # small tables (models): one read
        yield await store.fetch(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608 - names from TABLES
        return
    after: Any = None
    while True:
        where = f"WHERE {key[0]} > :after " if after is not None else ""
        rows = await store.fetch(
            f"SELECT * FROM {table} {where}ORDER BY {order} LIMIT :page",  # noqa: S608 - names from TABLES
            {"after": after, "page": _PAGE},
        )
        if not rows:
            return
        yield rows
        after = rows[-1][key[0]]


async def digest(store: Store, table: str) -> TableDigest:
    """Count and digest one table, the same way on every backend: the sum of the rows'
    SHA-256s, so the order the backends sort in (NULLs first or last) does not count."""
    total = 0
    count = 0
    async for rows in _pages(store, table):
        for row in rows:
            line = json.dumps(row, sort_keys=True, default=str).encode()
            total = (total + int.from_bytes(hashlib.sha256(line).digest(), "big")) % 2**256
            count += 1
    return TableDigest(count, f"{total:064x}")


async def tables_of(store: Store) -> set[str]:
    """The tables the database holds."""
    if store.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    else:
        sql = (
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
    return {str(row["name"]) for row in await store.fetch(sql)}


async def copy_store(source: Store, target: Store) -> CopyReport:
    """Copy every row of `source` into `target` (both open, both migrated).

    A table of the source that no schema declares is refused (`StoreError` naming it)
    before anything is copied: a copy that skipped it would lose its rows silently."""
    unknown = sorted(await tables_of(source) - set(TABLES) - _OWN)
    if unknown:
        raise StoreError(
            f"the source holds tables this llmhub does not know: {', '.join(unknown)};"
            " nothing was copied"
        )
    for table, key in TABLES.items():
        if table in _KEYLESS and (await digest(target, table)).rows:
            continue  # copied before (a run cut short and run again): the digests compare
        async for rows in _pages(source, table):
            if not rows:  # an empty table read in one page
                continue
            columns = list(rows[0])
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            conflict = "" if table in _KEYLESS else f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
            await target.execute_many(
                f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}",  # noqa: S608 - names from the schema
                rows,
            )
    return CopyReport(
        source={table: await digest(source, table) for table in TABLES},
        target={table: await digest(target, table) for table in TABLES},
    )
