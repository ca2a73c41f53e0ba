-- The schema of llmhub 0.1 at version 8 (sqlite): what databases made before the bot
-- owned its tables hold. Written once from that version's migrations; never edited.

-- the first tables: users, requests, responses, models
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

-- per-chat state, token usage and latency, user language
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

-- the cost of each response; fallback attempts linked to the request they stand in for
ALTER TABLE responses ADD COLUMN cost_usd REAL;
ALTER TABLE requests ADD COLUMN first_request_id TEXT;

-- a chat's own system prompt
ALTER TABLE chats ADD COLUMN system_prompt TEXT;

-- a request that answers an earlier one again (regenerate)
ALTER TABLE requests ADD COLUMN replaces TEXT;
CREATE INDEX requests_replaces ON requests (replaces) WHERE replaces IS NOT NULL;

-- usage limits, counters and holds (budgets)
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

-- the totals of forgotten users' requests
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

-- tool calls of each exchange; embedding calls
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

PRAGMA user_version = 8;
