"""One schema history, written once per SQL dialect.

Version N means the same tables and columns on every backend; only the SQL
that gets there differs (types, how a column is renamed). A backend applies
the versions it lacks, each in one transaction, when a store is opened; a
database newer than this llmhub is refused. `tests/store/` checks that a fresh
SQLite file and a fresh PostgreSQL database end with the same columns.

SQLite records the version in `PRAGMA user_version`; PostgreSQL in the table
`llmhub_schema`, under an advisory lock so that replicas starting together
migrate once.

Since version 9 the core keeps only its own tables (requests, responses, chats,
models, tool calls, embeddings, forgotten users' totals); a package built on
llmhub keeps its own through a `Schema` of its own (the bot's users and budgets:
`llmhub_bot`). What versions 1–8 did to the tables that moved is kept as their
`handed_over` part: it runs only on a database made before version 9, so that
the tables reach the shape the package's first migration adopts as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MADE_BEFORE_HAND_OVER", "MIGRATIONS", "SCHEMA_VERSION", "Migration"]

#: The table that tells a database made before version 9 (whose migrations take their
#: `handed_over` parts) from one this llmhub made and left part-way (a replica killed
#: while it migrated, or still migrating when another starts): version 1 made it
#: then; since, the bot's schema makes it, once the core is at version 9.
MADE_BEFORE_HAND_OVER = "users"


@dataclass(frozen=True, slots=True)
class Migration:
    """One version of the schema: what it brings, and its SQL per dialect."""

    description: str
    sqlite: str
    postgres: str
    #: What the version did to tables another package owns since (see the module's
    #: docstring): run only when a database made before the hand-over is upgraded.
    handed_over: Migration | None = None

    def statements(self, dialect: str, *, upgrading: bool = False) -> list[str]:
        """The dialect's statements, one by one; `upgrading`: the database was made
        before the hand-over of version 9 (it has `MADE_BEFORE_HAND_OVER`)."""
        script = self.sqlite if dialect == "sqlite" else self.postgres
        parts = [part.strip() for part in script.split(";") if part.strip()]
        if upgrading and self.handed_over is not None:
            parts += self.handed_over.statements(dialect)
        return parts


# The first version also made `users`, the bot's since version 9: no database made
# before the hand-over is ever at version 0, so that part never runs again.
_V1 = Migration(
    "the first tables: requests, responses, models",
    sqlite="""
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
""",
    # Telegram ids exceed 32 bits: BIGINT. Times are Unix seconds, as in SQLite.
    postgres="""
CREATE TABLE requests (
    id          TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL,
    user_id     BIGINT,
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE TABLE responses (
    request_id  TEXT PRIMARY KEY REFERENCES requests(id),
    status      TEXT NOT NULL,
    text        TEXT NOT NULL,
    error       TEXT,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE TABLE models (
    provider    TEXT NOT NULL,
    model       TEXT NOT NULL,
    first_seen  DOUBLE PRECISION NOT NULL,
    last_seen   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (provider, model)
);
CREATE INDEX requests_chat ON requests (chat_id, created_at);
""",
)

_V2 = Migration(
    "per-chat state, token usage and latency, user language",
    sqlite="""
CREATE TABLE chats (
    chat_id        TEXT PRIMARY KEY,
    model          TEXT,
    context_since  REAL NOT NULL DEFAULT 0,
    updated_at     REAL NOT NULL
);
ALTER TABLE requests ADD COLUMN context_turns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE responses RENAME COLUMN error TO error_message;
ALTER TABLE responses ADD COLUMN error_type TEXT;
ALTER TABLE responses ADD COLUMN finish_reason TEXT;
ALTER TABLE responses ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE responses ADD COLUMN completion_tokens INTEGER;
ALTER TABLE responses ADD COLUMN total_tokens INTEGER;
ALTER TABLE responses ADD COLUMN latency_ms REAL;
CREATE INDEX requests_created ON requests (created_at);
""",
    postgres="""
CREATE TABLE chats (
    chat_id        TEXT PRIMARY KEY,
    model          TEXT,
    context_since  DOUBLE PRECISION NOT NULL DEFAULT 0,
    updated_at     DOUBLE PRECISION NOT NULL
);
ALTER TABLE requests ADD COLUMN context_turns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE responses RENAME COLUMN error TO error_message;
ALTER TABLE responses ADD COLUMN error_type TEXT;
ALTER TABLE responses ADD COLUMN finish_reason TEXT;
ALTER TABLE responses ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE responses ADD COLUMN completion_tokens INTEGER;
ALTER TABLE responses ADD COLUMN total_tokens INTEGER;
ALTER TABLE responses ADD COLUMN latency_ms DOUBLE PRECISION;
CREATE INDEX requests_created ON requests (created_at);
""",
    handed_over=Migration(
        "the bot's users: their language",
        sqlite="""
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN updated_at REAL;
""",
        postgres="""
ALTER TABLE users ADD COLUMN language TEXT;
ALTER TABLE users ADD COLUMN updated_at DOUBLE PRECISION;
""",
    ),
)

_V3 = Migration(
    "the cost of each response; fallback attempts linked to the request they stand in for",
    sqlite="""
ALTER TABLE responses ADD COLUMN cost_usd REAL;
ALTER TABLE requests ADD COLUMN first_request_id TEXT;
""",
    postgres="""
ALTER TABLE responses ADD COLUMN cost_usd DOUBLE PRECISION;
ALTER TABLE requests ADD COLUMN first_request_id TEXT;
""",
)

_V4 = Migration(
    "a chat's own system prompt",
    sqlite="""
ALTER TABLE chats ADD COLUMN system_prompt TEXT;
""",
    postgres="""
ALTER TABLE chats ADD COLUMN system_prompt TEXT;
""",
)

# A regenerated answer names the exchange it replaces; the turns query leaves out
# an exchange once a request replacing it has been answered, so the switch happens
# with the new answer's row, in one write.
_V5 = Migration(
    "a request that answers an earlier one again (regenerate)",
    sqlite="""
ALTER TABLE requests ADD COLUMN replaces TEXT;
CREATE INDEX requests_replaces ON requests (replaces) WHERE replaces IS NOT NULL;
""",
    postgres="""
ALTER TABLE requests ADD COLUMN replaces TEXT;
CREATE INDEX requests_replaces ON requests (replaces) WHERE replaces IS NOT NULL;
""",
)

# Budgets: limits per user (user 0: everyone's default), what each used per day
# ("2026-11-29") and month ("2026-11"), and what answers under way hold. Counters,
# not sums over the log: a user's own rows may be deleted (/forget_me) while
# what they used still counts.
_V6 = Migration(
    "usage limits, counters and holds (budgets): the bot's since version 9",
    sqlite="",
    postgres="",
    handed_over=Migration(
        "usage limits, counters and holds (budgets)",
        sqlite="""
CREATE TABLE usage_limits (
    user_id       INTEGER PRIMARY KEY,
    tokens_day    INTEGER,
    tokens_month  INTEGER,
    usd_day       REAL,
    usd_month     REAL,
    updated_at    REAL NOT NULL
);
CREATE TABLE usage_counters (
    user_id   INTEGER NOT NULL,
    period    TEXT NOT NULL,
    requests  INTEGER NOT NULL DEFAULT 0,
    tokens    INTEGER NOT NULL DEFAULT 0,
    usd       REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period)
);
CREATE TABLE usage_holds (
    request_id  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    tokens      INTEGER NOT NULL,
    usd         REAL NOT NULL,
    created_at  REAL NOT NULL
);
CREATE INDEX usage_holds_user ON usage_holds (user_id);
CREATE INDEX usage_counters_period ON usage_counters (period);
""",
        postgres="""
CREATE TABLE usage_limits (
    user_id       BIGINT PRIMARY KEY,
    tokens_day    BIGINT,
    tokens_month  BIGINT,
    usd_day       DOUBLE PRECISION,
    usd_month     DOUBLE PRECISION,
    updated_at    DOUBLE PRECISION NOT NULL
);
CREATE TABLE usage_counters (
    user_id   BIGINT NOT NULL,
    period    TEXT NOT NULL,
    requests  INTEGER NOT NULL DEFAULT 0,
    tokens    BIGINT NOT NULL DEFAULT 0,
    usd       DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, period)
);
CREATE TABLE usage_holds (
    request_id  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL,
    tokens      BIGINT NOT NULL,
    usd         DOUBLE PRECISION NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX usage_holds_user ON usage_holds (user_id);
CREATE INDEX usage_counters_period ON usage_counters (period);
""",
    ),
)

# A user who asks to be forgotten leaves only counts: their rows go, their totals
# per provider and UTC day stay here, and the statistics add them in.
_V7 = Migration(
    "the totals of forgotten users' requests",
    sqlite="""
CREATE TABLE forgotten_usage (
    provider           TEXT NOT NULL,
    day                REAL NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      INTEGER NOT NULL,
    completion_tokens  INTEGER NOT NULL,
    cost_usd           REAL
);
CREATE INDEX forgotten_usage_day ON forgotten_usage (day);
""",
    postgres="""
CREATE TABLE forgotten_usage (
    provider           TEXT NOT NULL,
    day                DOUBLE PRECISION NOT NULL,
    requests           INTEGER NOT NULL,
    errors             INTEGER NOT NULL,
    prompt_tokens      BIGINT NOT NULL,
    completion_tokens  BIGINT NOT NULL,
    cost_usd           DOUBLE PRECISION
);
CREATE INDEX forgotten_usage_day ON forgotten_usage (day);
""",
)

# Tools: each round of an exchange's tool calls, a row per call (the model's call,
# the tool's output and how long it ran), under the exchange's id, so the log shows
# what happened and the chat's later context can send the rounds again. Embedding
# calls: a row each (they are no chat turns).
_V8 = Migration(
    "tool calls of each exchange; embedding calls",
    sqlite="""
CREATE TABLE tool_calls (
    request_id      TEXT NOT NULL,
    step            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    call_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    output          TEXT,
    is_error        INTEGER NOT NULL DEFAULT 0,
    duration_ms     REAL,
    step_text       TEXT NOT NULL DEFAULT '',
    step_reasoning  TEXT,
    signature       TEXT,
    created_at      REAL NOT NULL,
    PRIMARY KEY (request_id, step, seq)
);
CREATE TABLE embeddings (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    user_id        INTEGER,
    inputs         INTEGER NOT NULL,
    chars          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    prompt_tokens  INTEGER,
    cost_usd       REAL,
    latency_ms     REAL,
    error_type     TEXT,
    error_message  TEXT,
    created_at     REAL NOT NULL
);
CREATE INDEX embeddings_created ON embeddings (created_at);
""",
    postgres="""
CREATE TABLE tool_calls (
    request_id      TEXT NOT NULL,
    step            INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    call_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    output          TEXT,
    is_error        INTEGER NOT NULL DEFAULT 0,
    duration_ms     DOUBLE PRECISION,
    step_text       TEXT NOT NULL DEFAULT '',
    step_reasoning  TEXT,
    signature       TEXT,
    created_at      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (request_id, step, seq)
);
CREATE TABLE embeddings (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    model          TEXT NOT NULL,
    user_id        BIGINT,
    inputs         INTEGER NOT NULL,
    chars          BIGINT NOT NULL,
    status         TEXT NOT NULL,
    prompt_tokens  BIGINT,
    cost_usd       DOUBLE PRECISION,
    latency_ms     DOUBLE PRECISION,
    error_type     TEXT,
    error_message  TEXT,
    created_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX embeddings_created ON embeddings (created_at);
""",
)

# Packages built on llmhub keep their own tables, each through a `Schema` of its own
# whose version is kept here, under its name.
_V9 = Migration(
    "the versions of other packages' schemas (the bot's users and budgets are its own)",
    sqlite="""
CREATE TABLE llmhub_schemas (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
);
""",
    postgres="""
CREATE TABLE llmhub_schemas (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
);
""",
)

MIGRATIONS: tuple[Migration, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9)
SCHEMA_VERSION = len(MIGRATIONS)
