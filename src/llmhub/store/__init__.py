"""Where llmhub logs every request and response, and keeps per-chat state."""

from __future__ import annotations

from .._exceptions import ConfigurationError
from ._base import Store
from ._records import (
    ContextInfo,
    Exchange,
    ProviderStats,
    RequestRecord,
    ResponseRecord,
    ResponseStatus,
    Turn,
    UserRecord,
    UserStatus,
)
from ._schema import SCHEMA_VERSION
from ._sqlite import SQLiteStore

__all__ = [
    "SCHEMA_VERSION",
    "ContextInfo",
    "Exchange",
    "ProviderStats",
    "RequestRecord",
    "ResponseRecord",
    "ResponseStatus",
    "SQLiteStore",
    "Store",
    "Turn",
    "UserRecord",
    "UserStatus",
    "store_from_url",
]


def store_from_url(url: str, *, synchronous: str = "NORMAL") -> Store:
    """A store for `LLMHUB_DATABASE_URL` (not yet opened).

    `sqlite:///relative.db`, `sqlite:////absolute/path.db` and `sqlite:///:memory:`
    are understood; PostgreSQL will be added behind the same `Store` interface.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError("LLMHUB_DATABASE_URL is not a URL like sqlite:///llmhub.db")
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise ConfigurationError("LLMHUB_DATABASE_URL names no file: use sqlite:///llmhub.db")
        return SQLiteStore(path, synchronous=synchronous)
    if scheme.startswith(("postgres", "postgresql")):
        raise ConfigurationError("PostgreSQL is not supported yet; use sqlite:///path/to/llmhub.db")
    raise ConfigurationError(f"LLMHUB_DATABASE_URL scheme {scheme!r} is not supported; use sqlite")
