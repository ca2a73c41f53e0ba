"""Turning a batch of queued writes into few statements.

Callers alternate a request row and a response row, so a batch taken as it
comes would be one statement per row, each parsed and executed on its own.
Here each stretch of logged rows becomes two statements, one per table, whose
rows travel as arrays (`INSERT ... SELECT FROM unnest(...)`): the server parses
two statements however many rows the batch holds. Only the log's own rows are
regrouped, and only among themselves (every request before the responses of
its stretch, so no response comes before its request); every other write keeps
its place and runs as it was queued.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any

__all__ = ["INSERT_REQUEST", "INSERT_RESPONSE", "Statement", "statements"]

INSERT_REQUEST = "llmhub:request"
INSERT_RESPONSE = "llmhub:response"

#: (sql, one parameter set per execution)
Statement = tuple[str, list[Mapping[str, Any]]]

_REQUEST_COLUMNS = {
    "id": "text",
    "chat_id": "text",
    "user_id": "bigint",
    "provider": "text",
    "model": "text",
    "prompt": "text",
    "context_turns": "integer",
    "first_request_id": "text",
    "replaces": "text",
}
_RESPONSE_COLUMNS = {
    "request_id": "text",
    "status": "text",
    "text": "text",
    "created_at": "double precision",
    "latency_ms": "double precision",
    "finish_reason": "text",
    "prompt_tokens": "integer",
    "completion_tokens": "integer",
    "total_tokens": "integer",
    "error_type": "text",
    "error_message": "text",
    "cost_usd": "double precision",
}


def _unnest(columns: Mapping[str, str]) -> str:
    arrays = ", ".join(f"%({name})s::{kind}[]" for name, kind in columns.items())
    return f"unnest({arrays}) AS t({', '.join(columns)})"


def _updates(columns: Sequence[str]) -> str:
    return ", ".join(f"{name} = excluded.{name}" for name in columns)


# Ordered by the server's clock (replicas' clocks differ), row after row.
# Built from the constant column lists above, never from input.
_REQUESTS = (
    "INSERT INTO requests (id, chat_id, user_id, provider, model, prompt, created_at,"  # noqa: S608
    " context_turns, first_request_id, replaces) SELECT id, chat_id, user_id, provider, model,"
    " prompt, EXTRACT(EPOCH FROM clock_timestamp()), context_turns, first_request_id, replaces"
    f" FROM {_unnest(_REQUEST_COLUMNS)}"
    f" ON CONFLICT (id) DO UPDATE SET {_updates([*_REQUEST_COLUMNS][1:])},"
    " created_at = excluded.created_at"
)
_RESPONSES = (
    f"INSERT INTO responses ({', '.join(_RESPONSE_COLUMNS)})"  # noqa: S608
    f" SELECT {', '.join(_RESPONSE_COLUMNS)} FROM {_unnest(_RESPONSE_COLUMNS)}"
    f" ON CONFLICT (request_id) DO UPDATE SET {_updates([*_RESPONSE_COLUMNS][1:])}"
)


def _columns(rows: list[Mapping[str, Any]], key: str, names: Mapping[str, str]) -> dict[str, Any]:
    """Rows as one array per column; the last row of a key wins (one statement may
    not touch a row twice)."""
    latest = {row[key]: row for row in rows}
    return {name: [row[name] for row in latest.values()] for name in names}


def statements(writes: Sequence[tuple[str, Mapping[str, Any]]]) -> Iterator[Statement]:
    """The statements that perform `writes` (sql, params), in an order that keeps
    their meaning."""
    for is_log, run in groupby(writes, key=lambda w: w[0] in (INSERT_REQUEST, INSERT_RESPONSE)):
        stretch = list(run)
        if not is_log:
            for sql, same in groupby(stretch, key=lambda w: w[0]):
                yield sql, [params for _, params in same]
            continue
        requests = [params for sql, params in stretch if sql == INSERT_REQUEST]
        responses = [params for sql, params in stretch if sql == INSERT_RESPONSE]
        if requests:
            yield _REQUESTS, [_columns(requests, "id", _REQUEST_COLUMNS)]
        if responses:
            yield _RESPONSES, [_columns(responses, "request_id", _RESPONSE_COLUMNS)]
