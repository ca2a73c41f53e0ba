"""The bot's own tables: its users and groups, and the users' budgets (limits,
counters, holds).

They live in the hub's database beside the core's log, but they are the bot's:
made and migrated by the bot's own numbered migrations (`SCHEMA`, asked of the
store when the bot starts), read and written only by the bot (`_users`,
`_budgets`). `llmhub db copy` finds them through the entry point
`llmhub.schemas` this package declares.

Version 1 takes over the tables a database made before llmhub's schema 9 holds
(the core made them then, in this very shape): `IF NOT EXISTS` keeps their rows.
This module imports no aiogram: the entry point loads it cheaply.
"""

from __future__ import annotations

from llmhub.store import Migration, Schema

__all__ = ["SCHEMA"]

_V1 = Migration(
    "users and their budgets: limits per user (user 0: everyone's default), what each"
    " used per day and month, and what answers under way hold",
    sqlite="""
CREATE TABLE IF NOT EXISTS users (
    id          INTEGER PRIMARY KEY,
    username    TEXT,
    full_name   TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  REAL NOT NULL,
    language    TEXT,
    updated_at  REAL
);
CREATE TABLE IF NOT EXISTS usage_limits (
    user_id       INTEGER PRIMARY KEY,
    tokens_day    INTEGER,
    tokens_month  INTEGER,
    usd_day       REAL,
    usd_month     REAL,
    updated_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_counters (
    user_id   INTEGER NOT NULL,
    period    TEXT NOT NULL,
    requests  INTEGER NOT NULL DEFAULT 0,
    tokens    INTEGER NOT NULL DEFAULT 0,
    usd       REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period)
);
CREATE TABLE IF NOT EXISTS usage_holds (
    request_id  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    tokens      INTEGER NOT NULL,
    usd         REAL NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_holds_user ON usage_holds (user_id);
CREATE INDEX IF NOT EXISTS usage_counters_period ON usage_counters (period);
""",
    # Telegram ids exceed 32 bits: BIGINT. Times are Unix seconds, as in SQLite.
    postgres="""
CREATE TABLE IF NOT EXISTS users (
    id          BIGINT PRIMARY KEY,
    username    TEXT,
    full_name   TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  DOUBLE PRECISION NOT NULL,
    language    TEXT,
    updated_at  DOUBLE PRECISION
);
CREATE TABLE IF NOT EXISTS usage_limits (
    user_id       BIGINT PRIMARY KEY,
    tokens_day    BIGINT,
    tokens_month  BIGINT,
    usd_day       DOUBLE PRECISION,
    usd_month     DOUBLE PRECISION,
    updated_at    DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_counters (
    user_id   BIGINT NOT NULL,
    period    TEXT NOT NULL,
    requests  INTEGER NOT NULL DEFAULT 0,
    tokens    BIGINT NOT NULL DEFAULT 0,
    usd       DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period)
);
CREATE TABLE IF NOT EXISTS usage_holds (
    request_id  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL,
    tokens      BIGINT NOT NULL,
    usd         DOUBLE PRECISION NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_holds_user ON usage_holds (user_id);
CREATE INDEX IF NOT EXISTS usage_counters_period ON usage_counters (period);
""",
)

# What the bot told a conversation once (that its earliest turns are left out of the
# context): said again only after the conversation starts afresh.
_V2 = Migration(
    "notes told once per conversation",
    sqlite="""
CREATE TABLE chat_notes (
    chat_id     TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  REAL NOT NULL,
    PRIMARY KEY (chat_id, note)
);
""",
    postgres="""
CREATE TABLE chat_notes (
    chat_id     TEXT NOT NULL,
    note        TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (chat_id, note)
);
""",
)

# Groups an admin let in as a whole: their members need no approval of their own.
_V3 = Migration(
    "groups approved (or asked for, or refused) as a whole",
    sqlite="""
CREATE TABLE access_groups (
    id          INTEGER PRIMARY KEY,
    status      TEXT NOT NULL,
    title       TEXT,
    asked_by    INTEGER,
    language    TEXT,
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
""",
    postgres="""
CREATE TABLE access_groups (
    id          BIGINT PRIMARY KEY,
    status      TEXT NOT NULL,
    title       TEXT,
    asked_by    BIGINT,
    language    TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    updated_at  DOUBLE PRECISION NOT NULL
);
""",
)

#: The bot's schema: `await hub.store.use_schema(SCHEMA)` before the bot's tables are used.
SCHEMA = Schema(
    "llmhub_bot",
    (_V1, _V2, _V3),
    {
        "users": ("id",),
        "usage_limits": ("user_id",),
        "usage_counters": ("user_id", "period"),
        "usage_holds": ("request_id",),
        "chat_notes": ("chat_id", "note"),
        "access_groups": ("id",),
    },
)
