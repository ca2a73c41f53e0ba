"""Where llmhub logs every request and response, and keeps per-chat state.

One `Store` interface, one backend per subpackage (`sqlite/`, `postgres/`),
chosen by the scheme of `LLMHUB_DATABASE_URL`. A backend's driver is imported
only when its URL is used.
"""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

from .._exceptions import ConfigurationError
from ._base import Store
from ._migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from ._records import (
    ContextInfo,
    EmbeddingRecord,
    Exchange,
    ProviderStats,
    RequestRecord,
    ResponseRecord,
    ResponseStatus,
    Turn,
    turns_within,
)
from ._schemas import CORE_SCHEMA, SCHEMA_ENTRY_POINTS, Schema, installed_schemas

__all__ = [
    "BACKENDS",
    "CORE_SCHEMA",
    "MIGRATIONS",
    "SCHEMA_ENTRY_POINTS",
    "SCHEMA_VERSION",
    "ContextInfo",
    "EmbeddingRecord",
    "Exchange",
    "Migration",
    "ProviderStats",
    "RequestRecord",
    "ResponseRecord",
    "ResponseStatus",
    "Schema",
    "Store",
    "Turn",
    "installed_schemas",
    "redact_url",
    "store_from_url",
    "turns_within",
]

#: URL scheme -> (module, class, what to install). Each class has `from_url(url, **options)`.
BACKENDS: dict[str, tuple[str, str, str | None]] = {
    "sqlite": ("llmhub.store.sqlite", "SQLiteStore", None),
    "postgresql": ("llmhub.store.postgres", "PostgresStore", "postgres"),
    "postgres": ("llmhub.store.postgres", "PostgresStore", "postgres"),
}


def store_from_url(url: str, **options: Any) -> Store:
    """A store for `LLMHUB_DATABASE_URL` (not yet opened).

    `options` go to the backend that takes them (SQLite: `synchronous`); a
    backend ignores the others.
    """
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ConfigurationError(
            "LLMHUB_DATABASE_URL is not a URL like sqlite:///llmhub.db or postgresql://host/db"
        )
    backend = BACKENDS.get(scheme.split("+")[0].lower())
    if backend is None:
        known = ", ".join(sorted(BACKENDS))
        raise ConfigurationError(
            f"LLMHUB_DATABASE_URL scheme {scheme!r} is not supported; use one of: {known}"
        )
    module_name, class_name, extra = backend
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f'{redact_url(url)} needs the {extra!r} extra: pip install "aiollmhub[{extra}]"'
            f" ({exc.name} missing)"
        ) from exc
    cls: Any = getattr(module, class_name)
    store: Store = cls.from_url(url, **options)
    return store


#: Query parameters that carry a secret in a database URL (libpq's, redis-py's).
_SECRET_PARAMS = re.compile(
    r"([?&](?:password|passwd|pwd|sslpassword|token)=)[^&#]*", re.IGNORECASE
)


def redact_url(url: str) -> str:
    """`url` with any password replaced, in its credentials or its query, fit for logs
    and messages."""
    url = _SECRET_PARAMS.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
