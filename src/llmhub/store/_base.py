"""The interface every store backend implements (`store/sqlite/`, `store/postgres/`)."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from .._exceptions import ConfigurationError
from .._types import ToolCall, ToolResult, ToolStep
from ._records import (
    ContextInfo,
    EmbeddingRecord,
    Exchange,
    ProviderStats,
    RequestRecord,
    ResponseRecord,
    Turn,
    turns_within,
)
from ._schemas import CORE_SCHEMA, Schema

__all__ = ["NOT_REPLACED", "Store"]

#: The condition every query of a chat's turns adds (`q` its requests): leave out an
#: exchange once a request answering it again (`requests.replaces`) has its answer.
NOT_REPLACED = (
    "NOT EXISTS (SELECT 1 FROM requests n JOIN responses nr ON nr.request_id = n.id"
    " WHERE n.replaces = COALESCE(q.first_request_id, q.id) AND nr.status = 'ok')"
)

#: The columns of an `Exchange`, from `requests q` joined with `responses r`.
_EXCHANGE = (
    "q.id AS request_id, q.chat_id, q.provider, q.model, q.prompt, q.created_at,"
    " r.status, r.text, r.latency_ms, r.total_tokens, r.error_type, r.cost_usd,"
    " q.first_request_id, q.user_id"
)


class Store(ABC):
    """Where requests and responses are logged, and per-chat state kept.

    Writes may be grouped: `log_request` returns once the row is queued, in
    order; `log_response` returns once the response row (and so every row
    queued before it) is durable. A backend must never lose a queued row.

    Besides the log, a store keeps the tables of packages built on llmhub (the
    bot's users and budgets): a package makes them with `use_schema` and runs its
    own plain SQL on them: `fetch`, `execute` and `execute_many` take named
    parameters written `:name`, on every backend.
    """

    #: The SQL dialect: "sqlite" or "postgres".
    dialect: ClassVar[str]

    def __init__(self) -> None:
        #: The packages' schemas this store was asked for, by name.
        self.used_schemas: dict[str, Schema] = {}

    @abstractmethod
    async def open(self) -> None:
        """Connect, and create or migrate the schema."""

    @abstractmethod
    async def close(self) -> None:
        """Write what is queued and disconnect."""

    async def __aenter__(self) -> Store:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abstractmethod
    async def schema_version(self) -> int:
        """The schema version of the open database."""

    async def use_schema(self, schema: Schema) -> None:
        """Make a package's own tables in the open store, or bring them to
        `schema.version` (each missing version in one transaction, one process at a
        time); a database whose version of the schema is newer is refused
        (`ConfigurationError`). Cheap when the tables are up to date: one read."""
        if schema.name == CORE_SCHEMA.name:
            raise ConfigurationError(f"{schema.name!r} is the core's own schema")
        if (await self.schema_versions()).get(schema.name) != schema.version:
            await self._migrate_schema(schema)
        self.used_schemas[schema.name] = schema

    async def schema_versions(self) -> dict[str, int]:
        """The packages' schemas the database holds, with their versions."""
        rows = await self.fetch("SELECT name, version FROM llmhub_schemas ORDER BY name")
        return {str(row["name"]): int(row["version"]) for row in rows}

    @abstractmethod
    async def _migrate_schema(self, schema: Schema) -> None:
        """Apply the versions of `schema` the database lacks (see `use_schema`)."""

    @abstractmethod
    async def ping(self) -> bool:
        """Whether the store answers."""

    @property
    def held_rows(self) -> int:
        """Rows written later because the database was away (the store is degraded
        while there are any); a backend that never holds rows has none."""
        return 0

    # -- plain SQL ------------------------------------------------------------------

    @abstractmethod
    async def fetch(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The rows of a query, each by column name."""

    @abstractmethod
    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run one statement in a transaction of its own (after every queued write)."""

    @abstractmethod
    async def execute_many(self, sql: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for every row, all in one transaction."""

    @abstractmethod
    async def execute_exclusive(
        self, key: int, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one statement in a transaction of its own while no other caller, in
        this process or any other, runs one under the same `key`; the rows it returns
        (`RETURNING`). What a conditional write needs to be exact under concurrency:
        its condition reads what every earlier such write left.

        PostgreSQL takes a transaction-level advisory lock on `key` first; SQLite
        takes the database's write lock (`BEGIN IMMEDIATE`), which excludes all."""

    @abstractmethod
    async def execute_script(self, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
        """Run the statements in order, all in one transaction: all or none."""

    # -- the log ------------------------------------------------------------------

    @abstractmethod
    async def log_request(self, record: RequestRecord) -> None:
        """Queue a request row; one with the id of an earlier row replaces it."""

    @abstractmethod
    async def log_response(self, record: ResponseRecord) -> None:
        """Write a response row, replacing one of the same request; returns when it is durable."""

    # -- tool calls and embeddings ---------------------------------------------------
    # Portable SQL over `execute_many` / `fetch`: rarer than chat rows.

    async def log_tool_step(self, request_id: str, step: int, record: ToolStep) -> None:
        """Write one round of an exchange's tool calls (replacing one of the same
        number, as a call retried under its id replaces its rows)."""
        now = time.time()
        results = {result.call.id: result for result in record.results}
        rows = []
        for seq, call in enumerate(record.calls):
            result = results.get(call.id)
            rows.append(
                {
                    "request_id": request_id,
                    "step": step,
                    "seq": seq,
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": call.arguments,
                    "output": result.output if result else None,
                    "is_error": int(result.is_error) if result else 0,
                    "duration_ms": result.duration_ms if result else None,
                    "step_text": record.text,
                    "step_reasoning": record.reasoning,
                    "signature": call.signature,
                    "created_at": now,
                }
            )
        if rows:
            await self.execute_many(
                "INSERT INTO tool_calls (request_id, step, seq, call_id, name, arguments, output,"
                " is_error, duration_ms, step_text, step_reasoning, signature, created_at)"
                " VALUES (:request_id, :step, :seq, :call_id, :name, :arguments, :output,"
                " :is_error, :duration_ms, :step_text, :step_reasoning, :signature, :created_at)"
                " ON CONFLICT (request_id, step, seq) DO UPDATE SET call_id = excluded.call_id,"
                " name = excluded.name, arguments = excluded.arguments, output = excluded.output,"
                " is_error = excluded.is_error, duration_ms = excluded.duration_ms,"
                " step_text = excluded.step_text, step_reasoning = excluded.step_reasoning,"
                " signature = excluded.signature, created_at = excluded.created_at",
                rows,
            )

    async def tool_steps(self, request_ids: Sequence[str]) -> dict[str, list[ToolStep]]:
        """The rounds of tool calls of these exchanges, each in order."""
        if not request_ids:
            return {}
        marks = ", ".join(f":id{n}" for n in range(len(request_ids)))
        rows = await self.fetch(
            "SELECT request_id, step, call_id, name, arguments, output, is_error, duration_ms,"  # noqa: S608 - placeholders only
            f" step_text, step_reasoning, signature FROM tool_calls WHERE request_id IN ({marks})"
            " ORDER BY request_id, step, seq",
            {f"id{n}": request_id for n, request_id in enumerate(request_ids)},
        )
        grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault((str(row["request_id"]), int(row["step"])), []).append(row)
        steps: dict[str, list[ToolStep]] = {}
        for (request_id, _), calls in grouped.items():
            made = [
                ToolCall(str(c["call_id"]), str(c["name"]), str(c["arguments"]), c["signature"])
                for c in calls
            ]
            results = tuple(
                ToolResult(
                    call, str(c["output"]), bool(c["is_error"]), float(c["duration_ms"] or 0)
                )
                for call, c in zip(made, calls, strict=True)
                if c["output"] is not None
            )
            first = calls[0]
            steps.setdefault(request_id, []).append(
                ToolStep(tuple(made), results, str(first["step_text"]), first["step_reasoning"])
            )
        return steps

    async def log_embedding(self, record: EmbeddingRecord) -> None:
        """Write an embedding call's row."""
        await self.execute(
            "INSERT INTO embeddings (id, provider, model, user_id, inputs, chars, status,"
            " prompt_tokens, cost_usd, latency_ms, error_type, error_message, created_at)"
            " VALUES (:id, :provider, :model, :user_id, :inputs, :chars, :status,"
            " :prompt_tokens, :cost_usd, :latency_ms, :error_type, :error_message, :created_at)",
            {
                "id": record.id,
                "provider": record.provider,
                "model": record.model,
                "user_id": record.user_id,
                "inputs": record.inputs,
                "chars": record.chars,
                "status": record.status,
                "prompt_tokens": record.prompt_tokens,
                "cost_usd": record.cost_usd,
                "latency_ms": record.latency_ms,
                "error_type": record.error_type,
                "error_message": record.error_message,
                "created_at": record.created_at,
            },
        )

    # -- chats -----------------------------------------------------------------------
    # Portable SQL over `fetch` / `execute`; a backend may do better where it pays.

    @abstractmethod
    async def recent_turns(
        self, chat_id: str, max_turns: int, max_chars: int, *, exclude: Collection[str] = ()
    ) -> list[Turn]:
        """The chat's latest successful exchanges since its context was reset, oldest
        first, at most `max_turns` of them and `max_chars` characters together.

        An exchange replaced by an answered regeneration is left out, and so are the
        exchanges `exclude` (the one a regeneration under way replaces, and a call's
        own, when it is asked again under its id after a crash)."""

    async def answer_of(self, request_id: str) -> dict[str, Any] | None:
        """The logged answer of the exchange `request_id` (its first request's or a
        fallback's, `<id>.<n>`), if it was answered: chat_id, provider, model, user_id (the
        prompt's author), text, finish_reason, token counts, cost_usd. A range scan of the primary key: the
        fallbacks' ids sort right after the first's ('.' < '/')."""
        rows = await self.fetch(
            "SELECT q.chat_id, q.provider, q.model, q.user_id, r.text, r.finish_reason, r.prompt_tokens,"
            " r.completion_tokens, r.total_tokens, r.cost_usd"
            " FROM requests q JOIN responses r ON r.request_id = q.id"
            " WHERE q.id >= :id AND q.id < :end AND (q.id = :id OR q.first_request_id = :id)"
            " AND r.status = 'ok' ORDER BY q.id LIMIT 1",
            {"id": request_id, "end": request_id + "/"},
        )
        return rows[0] if rows else None

    async def recent_exchanges(self, limit: int = 20, chat_id: str | None = None) -> list[Exchange]:
        """The latest requests with their responses, newest first."""
        where = "WHERE q.chat_id = :chat_id" if chat_id is not None else ""
        rows = await self.fetch(
            f"SELECT {_EXCHANGE} FROM requests q"  # noqa: S608 - `where` is one of two constants
            f" LEFT JOIN responses r ON r.request_id = q.id {where}"
            " ORDER BY q.created_at DESC, q.id DESC LIMIT :limit",
            {"chat_id": chat_id, "limit": limit},
        )
        return [Exchange(**row) for row in rows]

    async def conversation(self, chat_id: str, limit: int = 10_000) -> list[Exchange]:
        """The chat's current conversation, oldest first: every answered exchange since
        its context was reset, but those a regeneration replaced."""
        rows = await self.fetch(
            f"SELECT {_EXCHANGE} FROM requests q"  # noqa: S608 - constants only
            " JOIN responses r ON r.request_id = q.id"
            " LEFT JOIN chats c ON c.chat_id = q.chat_id"
            " WHERE q.chat_id = :chat AND r.status = 'ok'"
            f" AND q.created_at > COALESCE(c.context_since, 0) AND {NOT_REPLACED}"
            " ORDER BY q.created_at, q.id LIMIT :limit",
            {"chat": chat_id, "limit": limit},
        )
        return [Exchange(**row) for row in rows]

    async def forget_user(self, user_id: int, chats: Collection[str] = ()) -> int:
        """Delete a user's requests and responses, and the settings of `chats` (theirs
        alone, as a private chat is: which are is the caller's to know); their totals
        per provider and day stay, without them, in `forgotten_usage`. How many
        requests went."""
        [row] = await self.fetch(
            "SELECT COUNT(*) AS n FROM requests WHERE user_id = :user", {"user": user_id}
        )
        mine = "SELECT id FROM requests WHERE user_id = :user"
        # The UTC day a request was made on, as a Unix time (floor division).
        day = (
            "CAST(q.created_at / 86400 AS INTEGER) * 86400"
            if self.dialect == "sqlite"
            else "FLOOR(q.created_at / 86400) * 86400"
        )
        params = {"user": user_id}
        await self.execute_script(
            [
                (
                    "INSERT INTO forgotten_usage (provider, day, requests, errors, prompt_tokens,"  # noqa: S608 - `day` is one of two constants
                    " completion_tokens, cost_usd)"
                    f" SELECT q.provider, {day}, COUNT(*),"
                    " COALESCE(SUM(CASE WHEN r.status = 'error' THEN 1 ELSE 0 END), 0),"
                    " COALESCE(SUM(r.prompt_tokens), 0), COALESCE(SUM(r.completion_tokens), 0),"
                    " SUM(r.cost_usd) FROM requests q LEFT JOIN responses r ON r.request_id = q.id"
                    " WHERE q.user_id = :user"
                    f" GROUP BY q.provider, {day}",
                    params,
                ),
                (f"DELETE FROM responses WHERE request_id IN ({mine})", params),  # noqa: S608 - constant
                ("DELETE FROM requests WHERE user_id = :user", params),
                *(("DELETE FROM chats WHERE chat_id = :chat", {"chat": chat}) for chat in chats),
            ]
        )
        return int(row["n"])

    async def reset_context(self, chat_id: str) -> None:
        """Start the chat's context afresh; earlier rows stay in the log."""
        now = time.time()
        await self.execute(
            "INSERT INTO chats (chat_id, context_since, updated_at) VALUES (:chat, :now, :now)"
            " ON CONFLICT (chat_id) DO UPDATE SET context_since = excluded.context_since,"
            " updated_at = excluded.updated_at",
            {"chat": chat_id, "now": now},
        )

    async def context_info(self, chat_id: str, max_turns: int, max_chars: int) -> ContextInfo:
        """How many turns and characters the chat's next request will carry."""
        # One read: a turn more than the limit, whatever their length; the limits are
        # then applied here, as the store applies them, and what is left out shows.
        every = await self.recent_turns(chat_id, max_turns + 1, 2**62)
        newest_first = [(t.prompt, t.reply, t.request_id, t.has_tools) for t in reversed(every)]
        turns = turns_within(newest_first, max_chars, max_turns)
        return ContextInfo(
            turns=len(turns),
            chars=sum(len(t.prompt) + len(t.reply) for t in turns),
            dropped=len(every) > len(turns),
        )

    async def chat_state(self, chat_id: str) -> tuple[str | None, str | None]:
        """The chat's chosen model and its own system prompt (each `None` if unset), in
        one read: what every prompt that sets neither needs."""
        rows = await self.fetch(
            "SELECT model, system_prompt FROM chats WHERE chat_id = :chat", {"chat": chat_id}
        )
        if not rows:
            return None, None
        model, system = rows[0]["model"], rows[0]["system_prompt"]
        return (
            str(model) if model is not None else None,
            str(system) if system is not None else None,
        )

    async def chat_model(self, chat_id: str) -> str | None:
        """The model chosen for the chat, if any."""
        return (await self.chat_state(chat_id))[0]

    async def set_chat_model(self, chat_id: str, model: str | None) -> None:
        """Choose the chat's model (`None` goes back to the default)."""
        await self._set_chat(chat_id, "model", model)

    async def chat_system(self, chat_id: str) -> str | None:
        """The chat's own system prompt, if it set one."""
        return (await self.chat_state(chat_id))[1]

    async def set_chat_system(self, chat_id: str, text: str | None) -> None:
        """Set the chat's system prompt (`None` clears it)."""
        await self._set_chat(chat_id, "system_prompt", text)

    async def _set_chat(self, chat_id: str, column: str, value: str | None) -> None:
        """Set one of the chat's settings (`column`: one of the two constants above)."""
        await self.execute(
            f"INSERT INTO chats (chat_id, {column}, updated_at) VALUES (:chat, :value, :now)"  # noqa: S608 - a constant column
            f" ON CONFLICT (chat_id) DO UPDATE SET {column} = excluded.{column},"
            " updated_at = excluded.updated_at",
            {"chat": chat_id, "value": value, "now": time.time()},
        )

    # -- models and statistics ------------------------------------------------------------

    async def record_models(self, provider: str, models: Iterable[str]) -> None:
        """Note that `provider` offered `models` now."""
        now = time.time()
        rows = [{"provider": provider, "model": m, "now": now} for m in dict.fromkeys(models)]
        if rows:
            await self.execute_many(
                "INSERT INTO models (provider, model, first_seen, last_seen)"
                " VALUES (:provider, :model, :now, :now)"
                " ON CONFLICT (provider, model) DO UPDATE SET last_seen = excluded.last_seen",
                rows,
            )

    async def known_models(self) -> dict[str, list[str]]:
        """Models seen before, by provider."""
        result: dict[str, list[str]] = {}
        for row in await self.fetch("SELECT provider, model FROM models ORDER BY provider, model"):
            result.setdefault(str(row["provider"]), []).append(str(row["model"]))
        return result

    async def provider_stats(self, since: float) -> list[ProviderStats]:
        """Requests, errors and tokens per provider since a Unix time."""
        # Forgotten users' requests count by their day: a day that began before
        # `since` is left out with them.
        rows = await self.fetch(
            "SELECT provider, SUM(requests) AS requests, SUM(errors) AS errors,"
            " SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,"
            " SUM(cost_usd) AS cost_usd FROM ("
            " SELECT q.provider, 1 AS requests,"
            " CASE WHEN r.status = 'error' THEN 1 ELSE 0 END AS errors,"
            " COALESCE(r.prompt_tokens, 0) AS prompt_tokens,"
            " COALESCE(r.completion_tokens, 0) AS completion_tokens, r.cost_usd"
            " FROM requests q LEFT JOIN responses r ON r.request_id = q.id"
            " WHERE q.created_at >= :since"
            " UNION ALL SELECT provider, requests, errors, prompt_tokens, completion_tokens,"
            " cost_usd FROM forgotten_usage WHERE day >= :since"
            ") AS totals GROUP BY provider ORDER BY provider",
            {"since": since},
        )
        return [
            ProviderStats(
                provider=str(row["provider"]),
                requests=int(row["requests"]),
                errors=int(row["errors"]),
                prompt_tokens=int(row["prompt_tokens"]),
                completion_tokens=int(row["completion_tokens"]),
                cost_usd=float(row["cost_usd"]) if row["cost_usd"] is not None else None,
            )
            for row in rows
        ]
