"""The PostgreSQL backend (`pip install "aiollmhub[postgres]"`): for several
processes or hosts writing one log."""

from __future__ import annotations

from ._store import PostgresStore

__all__ = ["PostgresStore"]
