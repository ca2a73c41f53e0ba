"""The PostgreSQL and Redis servers the tests use, when they answer.

A test that needs one asks for it here: where none answers (a laptop without
them) it is skipped with a one-line reason, except when `TEST_SERVICES=required`
(set by `.ci/run`), where a missing server fails the test instead.

Read once at import: the tests' own environment is scrubbed per test.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Not database 0, where an app on the same server keeps its keys.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: Every database a test makes starts so, then the making process's id: a run that
#: was killed leaves some, and the next run drops those whose process is gone.
DATABASE_PREFIX = "llmhub_test_"
REQUIRED = os.environ.get("TEST_SERVICES", "") == "required"


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def need(service: str) -> None:
    """Skip (or, under CI, fail) unless `service` ("postgres" or "redis") answers."""
    url, port = (POSTGRES_ADMIN_URL, 5432) if service == "postgres" else (REDIS_URL, 6379)
    if _answers(url, port):
        return
    reason = f"{service} does not answer at {urlsplit(url).netloc}"
    if REQUIRED:
        pytest.fail(f"{reason} (TEST_SERVICES=required)")
    pytest.skip(reason)


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    import psycopg

    need("postgres")
    name = f"{DATABASE_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    admin = await psycopg.AsyncConnection.connect(POSTGRES_ADMIN_URL, autocommit=True)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            yield f"{base}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class PrivateRedis:
    """A Redis server of the test's own on a free port, which the test may kill and
    start again (the shared one must not be disturbed). It writes every command to
    its append-only file before answering, as a Redis holding a bot's queues should
    be configured, so a kill -9 loses nothing it acknowledged."""

    BINARY = shutil.which("redis-server")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert self.BINARY is not None
        self._process = await asyncio.create_subprocess_exec(
            self.BINARY,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--logfile", str(self.folder / "redis.log"),
        )  # fmt: skip
        for _ in range(500):
            if _answers(self.url, self.port):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"redis-server never answered on {self.port}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown of its own, no last save."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


@asynccontextmanager
async def private_redis(folder: Path) -> AsyncIterator[PrivateRedis]:
    """A started `PrivateRedis` in `folder`, killed afterwards."""
    if PrivateRedis.BINARY is None:
        reason = "redis-server is not installed"
        if REQUIRED:
            pytest.fail(f"{reason} (TEST_SERVICES=required)")
        pytest.skip(reason)
    server = PrivateRedis(folder)
    await server.start()
    try:
        yield server
    finally:
        await server.kill()


def sweep_left_databases() -> list[str]:
    """Drop the test databases of runs whose process is gone (killed before their
    clean-up); the names dropped. Nothing where PostgreSQL does not answer."""
    if not _answers(POSTGRES_ADMIN_URL, 5432):
        return []
    import psycopg

    dropped = []
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
        ).fetchall()
        for (name,) in rows:
            owner = name.removeprefix(DATABASE_PREFIX).split("_", 1)[0]
            if owner.isdigit() and _alive(int(owner)):
                continue
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            dropped.append(name)
    return dropped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def bot_keys() -> set[str] | None:
    """The bots' keys in the tests' Redis database now (`None`: Redis does not answer)."""
    if not _answers(REDIS_URL, 6379):
        return None
    import redis

    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        return {key.decode() for key in client.scan_iter(match="llmhub:bot:*", count=1000)}


def delete_keys(keys: set[str]) -> None:
    import redis

    with redis.Redis.from_url(REDIS_URL, socket_timeout=5) as client:
        for start in range(0, len(keys), 1000):
            client.delete(*sorted(keys)[start : start + 1000])


class DatabaseOutage:
    """A PostgreSQL restart, as a test on the shared server can make one for its own
    database: `drop_connections()` ends every open one (a pool still holds them),
    `refuse()` also turns new ones away until `allow()`."""

    def __init__(self, url: str) -> None:
        self.name = url.rsplit("/", 1)[1]
        self._admin: Any = None

    async def __aenter__(self) -> DatabaseOutage:
        import psycopg

        self._admin = await psycopg.AsyncConnection.connect(POSTGRES_ADMIN_URL, autocommit=True)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.allow()
        finally:
            await self._admin.close()

    async def refuse(self) -> None:
        await self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        await self.drop_connections()

    async def drop_connections(self) -> None:
        await self._admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (self.name,),
        )

    async def allow(self) -> None:
        await self._admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')
