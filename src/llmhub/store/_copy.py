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

from ._base import Store

__all__ = ["TABLES", "CopyReport", "TableDigest", "copy_store", "digest"]

#: Every table of the schema with its primary key, referenced tables first.
TABLES: dict[str, tuple[str, ...]] = {
    "users": ("id",),
    "models": ("provider", "model"),
    "chats": ("chat_id",),
    "requests": ("id",),
    "responses": ("request_id",),
    "tool_calls": ("request_id", "step", "seq"),
    "embeddings": ("id",),
}
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
    """Count and digest one table, the same way on every backend."""
    sha = hashlib.sha256()
    count = 0
    async for rows in _pages(store, table):
        for row in rows:
            sha.update(json.dumps(row, sort_keys=True, default=str).encode())
            sha.update(b"\n")
            count += 1
    return TableDigest(count, sha.hexdigest())


async def copy_store(source: Store, target: Store) -> CopyReport:
    """Copy every row of `source` into `target` (both open, both migrated)."""
    for table, key in TABLES.items():
        async for rows in _pages(source, table):
            if not rows:  # an empty table read in one page
                continue
            columns = list(rows[0])
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            await target.execute_many(
                f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names from the schema
                f" ON CONFLICT ({', '.join(key)}) DO NOTHING",
                rows,
            )
    return CopyReport(
        source={table: await digest(source, table) for table in TABLES},
        target={table: await digest(target, table) for table in TABLES},
    )
