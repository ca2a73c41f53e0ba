"""Copying a whole store to another (`llmhub db copy`), e.g. SQLite to PostgreSQL.

What is copied is what the schemas declare: the core's tables, and those of every
package whose schema the source holds (`Schema.tables`), found among the installed
packages. Tables go over in an order that keeps every reference valid, page by page in
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
from ._schemas import CORE_SCHEMA, Schema, installed_schemas

__all__ = ["CopyReport", "TableDigest", "copy_store", "digest", "tables_of"]

#: Tables a backend keeps for itself (the versions of the schemas).
_OWN = frozenset({"llmhub_schema", "llmhub_schemas"})
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


async def _pages(
    store: Store, table: str, key: tuple[str, ...]
) -> AsyncIterator[list[dict[str, Any]]]:
    """The table's rows in primary-key order, a page at a time."""
    order = ", ".join(key)
    if len(key) > 1:  # small tables (models): one read
        yield await store.fetch(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608 - names from the schemas
        return
    after: Any = None
    while True:
        where = f"WHERE {key[0]} > :after " if after is not None else ""
        rows = await store.fetch(
            f"SELECT * FROM {table} {where}ORDER BY {order} LIMIT :page",  # noqa: S608 - names from the schemas
            {"after": after, "page": _PAGE},
        )
        if not rows:
            return
        yield rows
        after = rows[-1][key[0]]


async def digest(store: Store, table: str, key: tuple[str, ...]) -> TableDigest:
    """Count and digest one table, the same way on every backend: the sum of the rows'
    SHA-256s, so the order the backends sort in (NULLs first or last) does not count."""
    total = 0
    count = 0
    async for rows in _pages(store, table, key):
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


async def _schemas_of(source: Store) -> list[Schema]:
    """The core's schema and every package's the source holds, as installed here."""
    known = {**installed_schemas(), **source.used_schemas}
    held = await source.schema_versions()
    missing = sorted(set(held) - set(known))
    if missing:
        raise StoreError(
            f"the source holds the tables of {', '.join(missing)}, not installed here;"
            " install it to copy them; nothing was copied"
        )
    return [CORE_SCHEMA, *(known[name] for name in sorted(held))]


async def copy_store(source: Store, target: Store) -> CopyReport:
    """Copy every row of `source` into `target` (both open, both migrated).

    A table of the source that no schema declares is refused (`StoreError` naming it)
    before anything is copied: a copy that skipped it would lose its rows silently."""
    schemas = await _schemas_of(source)
    tables = {table: key for schema in schemas for table, key in schema.tables.items()}
    keyless = frozenset().union(*(schema.keyless for schema in schemas))
    unknown = sorted(await tables_of(source) - set(tables) - _OWN)
    if unknown:
        raise StoreError(
            f"the source holds tables this llmhub does not know: {', '.join(unknown)}"
            " (no installed package's schema declares them); nothing was copied"
        )
    for schema in schemas[1:]:  # the same version on both sides
        await source.use_schema(schema)
        await target.use_schema(schema)
    for table, key in tables.items():
        if table in keyless and (await digest(target, table, key)).rows:
            continue  # copied before (a run cut short and run again): the digests compare
        async for rows in _pages(source, table, key):
            if not rows:  # an empty table read in one page
                continue
            columns = list(rows[0])
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            conflict = "" if table in keyless else f" ON CONFLICT ({', '.join(key)}) DO NOTHING"
            await target.execute_many(
                f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}",  # noqa: S608 - names from the schema
                rows,
            )
    return CopyReport(
        source={table: await digest(source, table, key) for table, key in tables.items()},
        target={table: await digest(target, table, key) for table, key in tables.items()},
    )
