"""Each package's own tables: a `Schema` (numbered migrations, and the tables they make).

The core's schema is `CORE_SCHEMA` (its version kept where it always was: SQLite's
`PRAGMA user_version`, PostgreSQL's `llmhub_schema`). A package built on llmhub
declares a `Schema` of its own, asks an open store for it with
`await store.use_schema(schema)` (its tables are made or brought up to date then,
once, whichever process comes first), and names it under the entry point group
`llmhub.schemas`, so that `llmhub db copy` knows its tables (loading that one module,
which should import nothing heavy). The versions of those schemas are kept in the
core's table `llmhub_schemas`, one row per schema; both backends migrate the core's
schema and the packages' with the same loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from .._exceptions import ConfigurationError
from ._migrations import MIGRATIONS, Migration

__all__ = ["CORE_SCHEMA", "SCHEMA_ENTRY_POINTS", "Schema", "installed_schemas"]

#: The entry point group a package names its `Schema` under (`name = "module:SCHEMA"`).
SCHEMA_ENTRY_POINTS = "llmhub.schemas"


@dataclass(frozen=True, slots=True)
class Schema:
    """A package's own tables in the store.

    `migrations`: version N is `migrations[N - 1]`; a version once released is never
    edited, a change is a new version. `tables`: every table the migrations make,
    each with its primary key, a table before those that refer to it (`llmhub db
    copy` copies in this order); `keyless`: those without a primary key (the key
    given is every column), which a copy takes whole into an empty table only.
    """

    name: str
    migrations: tuple[Migration, ...] = field(repr=False)
    tables: Mapping[str, tuple[str, ...]]
    keyless: frozenset[str] = field(default_factory=frozenset, repr=False)

    @property
    def version(self) -> int:
        """The version its migrations bring a database to."""
        return len(self.migrations)


CORE_SCHEMA = Schema(
    "llmhub",
    MIGRATIONS,
    {
        "models": ("provider", "model"),
        "chats": ("chat_id",),
        "requests": ("id",),
        "responses": ("request_id",),
        "tool_calls": ("request_id", "step", "seq"),
        "embeddings": ("id",),
        "forgotten_usage": (
            "provider",
            "day",
            "requests",
            "errors",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
        ),
    },
    keyless=frozenset({"forgotten_usage"}),
)


def installed_schemas() -> dict[str, Schema]:
    """The schemas installed packages declare (entry point group `llmhub.schemas`), by name."""
    found: dict[str, Schema] = {}
    for entry in entry_points(group=SCHEMA_ENTRY_POINTS):
        schema = entry.load()
        if not isinstance(schema, Schema):
            raise ConfigurationError(
                f"the entry point {entry.name!r} of {SCHEMA_ENTRY_POINTS!r} names"
                f" {entry.value!r}, which is not an llmhub.store.Schema"
            )
        found[schema.name] = schema
    return found
