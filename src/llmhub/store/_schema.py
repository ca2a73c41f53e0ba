"""The SQLite schema, as numbered migrations. `PRAGMA user_version` holds the
number applied; opening a store applies the rest, each in one transaction."""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]

# Version 1: the tables of the plan.
_V1 = """
CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    username    TEXT,
    full_name   TEXT,
    status      TEXT NOT NULL DEFAULT 'pending',
    created_at  REAL NOT NULL
);
CREATE TABLE requests (
    id          TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL,
    user_id     INTEGER,
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
CREATE TABLE responses (
    request_id  TEXT PRIMARY KEY REFERENCES requests(id),
    status      TEXT NOT NULL,
    text        TEXT NOT NULL,
    error       TEXT,
    created_at  REAL NOT NULL
);
CREATE TABLE models (
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    first_seen  REAL NOT NULL,
    last_seen   REAL NOT NULL,
    PRIMARY KEY (provider, model)
);
CREATE INDEX requests_chat ON requests (chat_id, created_at);
"""

# Version 2: per-chat state, token usage and latency, user language.
_V2 = """
CREATE TABLE chats (
    chat_id        TEXT PRIMARY KEY,
    model          TEXT,
    context_since  REAL NOT NULL DEFAULT 0,
    updated_at     REAL NOT NULL
);
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN updated_at REAL;
ALTER TABLE requests ADD COLUMN context_turns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE responses RENAME COLUMN error TO error_message;
ALTER TABLE responses ADD COLUMN error_type TEXT;
ALTER TABLE responses ADD COLUMN finish_reason TEXT;
ALTER TABLE responses ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE responses ADD COLUMN completion_tokens INTEGER;
ALTER TABLE responses ADD COLUMN total_tokens INTEGER;
ALTER TABLE responses ADD COLUMN latency_ms REAL;
CREATE INDEX requests_created ON requests (created_at);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)
