"""The tests clean up after themselves on the shared servers, also after a killed run."""

from __future__ import annotations

import subprocess
import sys

import psycopg

from tests.services import (
    DATABASE_PREFIX,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    need,
    sweep_left_databases,
)


def _databases() -> set[str]:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute("SELECT datname FROM pg_database").fetchall()
    return {name for (name,) in rows}


def test_a_killed_runs_databases_are_dropped_and_a_live_ones_kept() -> None:
    need("postgres")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)
    left = f"{DATABASE_PREFIX}{dead_pid}_sweeptest"
    live = f"{DATABASE_PREFIX}{1}_sweeptest"  # pid 1 is always alive
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        for name in (left, live):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        dropped = sweep_left_databases()
        assert left in dropped
        assert live not in dropped
        assert left not in _databases()
        assert live in _databases()
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{live}"')


def test_the_tests_redis_database_is_not_the_default_one() -> None:
    assert not REDIS_URL.rstrip("/").endswith(("/0", ":6379"))
