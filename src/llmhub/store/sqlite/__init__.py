"""The SQLite backend: the embedded default, nothing to install or run."""

from __future__ import annotations

from ._store import SQLiteStore

__all__ = ["SQLiteStore"]
