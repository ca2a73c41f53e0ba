"""The `llmhub` command: providers, models, chat, logs, db.

Exit codes: 0 done; 1 a provider or the store failed; 2 bad input or settings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from ._catalogue import INPUT_KINDS, ModelInfo, format_usd
from ._exceptions import (
    ConfigurationError,
    InvalidRequestError,
    LLMHubError,
    ModelNotFoundError,
)
from ._hub import Hub
from ._prices import ModelPrice, data_version, price_of
from ._provider import BaseProvider
from ._registry import ProviderRegistry
from ._types import GenerationOptions, Prompt, Reasoning, Reply, ToolResultEvent

if TYPE_CHECKING:
    from ._settings import HubSettings

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmhub", description="One async API over many LLM providers, every exchange logged."
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("providers", help="installed provider plugins and what each needs")
    models = commands.add_parser("models", help="every configured provider's models")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.add_argument(
        "--check",
        action="store_true",
        help="compare each provider's live listing with its plugin's table",
    )
    chat = commands.add_parser("chat", help="ask a model; the reply is streamed to stdout")
    chat.add_argument("prompt", nargs="?", help="the prompt (default: read standard input)")
    chat.add_argument("-m", "--model", help="model, or provider/model (default: configured)")
    chat.add_argument("--chat-id", help="continue this conversation (default: a new one)")
    chat.add_argument("-s", "--system", help="system prompt")
    chat.add_argument("--no-stream", action="store_true", help="print the reply when complete")
    chat.add_argument(
        "--tool",
        action="append",
        default=[],
        metavar="MODULE:FUNCTION",
        help="a function the model may call (module or file.py, then its name); repeatable",
    )
    chat.add_argument(
        "--schema", metavar="FILE", help="a JSON schema file: the reply is JSON that follows it"
    )
    chat.add_argument(
        "--reasoning", help="off, low, medium, high, or a token budget (what the model takes)"
    )
    embed = commands.add_parser("embed", help="embed texts; one JSON vector per line")
    embed.add_argument("texts", nargs="*", help="the texts (default: each line of standard input)")
    embed.add_argument(
        "-m", "--model", required=True, help="an embedding model, e.g. mistral-embed"
    )
    logs = commands.add_parser("logs", help="recent exchanges from the store")
    logs.add_argument("-n", "--count", type=int, default=10, help="how many (default 10)")
    logs.add_argument("--chat-id", help="only this conversation")
    db = commands.add_parser("db", help="the store: migrate it, copy it to another")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    migrate = db_commands.add_parser("migrate", help="bring a database to this llmhub's schema")
    migrate.add_argument("url", nargs="?", help="database URL (default: LLMHUB_DATABASE_URL)")
    copy = db_commands.add_parser(
        "copy", help="copy every row of one database into another (e.g. SQLite to PostgreSQL)"
    )
    copy.add_argument("source", help="database URL to copy from")
    copy.add_argument("target", help="database URL to copy into (migrated first)")
    return parser


def _version() -> str:
    import llmhub

    return f"llmhub {llmhub.__version__} (Python {sys.version.split()[0]})"


#: What to install for the models people name first, when no plugin is installed.
NO_PLUGIN = (
    'no provider plugin is installed: pip install "aiollmhub[mistral]" (or [dipseek],'
    " [gemini], or [all] for every one)"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `llmhub` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "providers":
            return _providers(sys.stdout)
        if args.command == "db":
            return asyncio.run(_db(args, sys.stdout))
        return asyncio.run(_run(args, sys.stdout))
    except (InvalidRequestError, ModelNotFoundError, ConfigurationError) as exc:
        print(f"llmhub: error: {exc}", file=sys.stderr)
        return 2
    except LLMHubError as exc:
        print(f"llmhub: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _hub_settings(env: Mapping[str, str]) -> HubSettings:
    from ._settings import HubSettings, read_settings

    try:
        return read_settings(HubSettings, env)
    except ValueError as exc:  # pydantic's ValidationError names the field and value
        raise ConfigurationError(f"invalid LLMHUB_* setting: {exc}") from exc


def _providers(out: TextIO) -> int:
    from ._settings import load_environment

    env = load_environment()
    settings = _hub_settings(env)
    registry = ProviderRegistry(env, settings=settings)
    infos = registry.info()
    if not infos and not registry.failures:
        print('no provider plugins installed; try: pip install "aiollmhub[all]"', file=out)
    for info in infos:
        version = f"{info.distribution} {info.version}" if info.distribution else "(not packaged)"
        state = (
            "configured"
            if info.configured
            else f"not configured: set {', '.join(info.missing_env)}"
        )
        files = "files" if info.supports_files else "text only"
        print(f"{info.name:<10} {version:<24} {files:<10} {state}", file=out)
        print(f"{'':<10} reads: {', '.join(info.env_vars)}", file=out)
        for variable, alias in info.read_from.items():
            print(f"{'':<10} {variable} read from {alias}", file=out)
        if info.mode:
            print(f"{'':<10} mode: {info.mode}", file=out)
    for label, failure in sorted(registry.failures.items()):
        print(f"{label:<10} FAILED TO LOAD: {failure}", file=out)
    return 0


def _absolute(path: str) -> Path:
    return Path(path).resolve()


def _missing_sqlite(url: str) -> str | None:
    """The file a `sqlite:///` URL names when it does not exist yet, else `None`."""
    scheme, _, rest = url.partition("://")
    if scheme.lower() != "sqlite":
        return None
    path = rest[1:] if rest.startswith("/") else rest
    return path if path and path != ":memory:" and not Path(path).exists() else None


async def _run(args: argparse.Namespace, out: TextIO) -> int:
    from ._settings import load_environment

    env = load_environment()
    settings = _hub_settings(env)
    missing = _missing_sqlite(settings.database_url)
    created = None
    if args.command in ("models", "logs"):
        # Read-only commands create no database (nor its folder) where there is none.
        if missing is not None:
            if args.command == "logs":
                print(f"no log yet: {missing} does not exist", file=out)
                return 0
            env = {**env, "LLMHUB_DATABASE_URL": "sqlite:///:memory:"}
    else:
        created = missing
    registry = ProviderRegistry(env, settings=settings)
    if not registry.names():
        raise ConfigurationError(NO_PLUGIN)
    hub = await Hub.open(env, registry=registry)
    try:
        if created is not None:  # where the log is, said once: when it is made
            print(
                f"llmhub: logging every exchange to {_absolute(created)}"
                " (LLMHUB_DATABASE_URL sets another place)",
                file=sys.stderr,
            )
        if args.command == "models":
            return await _models(hub, out, as_json=args.json, check=args.check)
        if args.command == "chat":
            return await _chat(hub, args, out)
        if args.command == "embed":
            return await _embed(hub, args, out)
        return await _logs(hub, args, out)
    finally:
        await hub.aclose()


async def _models(hub: Hub, out: TextIO, *, as_json: bool, check: bool = False) -> int:
    catalog = await hub.list_models()
    now = time.time()
    rows = {
        provider: [_priced(hub.registry.provider_class(provider), m, now) for m in models]
        for provider, models in catalog.by_provider.items()
    }
    if as_json:
        payload = {
            "models": {
                p: [info.as_dict() | {"price_now": _price_dict(price)} for info, price in found]
                for p, found in rows.items()
            },
            "prices": {"source": data_version(), "at": _utc(now)},
            "errors": {p: str(e) for p, e in catalog.errors.items()},
            "notes": dict(catalog.notes),
        }
        print(json.dumps(payload, indent=2), file=out)
    else:
        _print_model_table(rows, out, now)
        for provider, note in catalog.notes.items():
            print(f"{provider}: note: {note}", file=sys.stderr)
        for provider, error in catalog.errors.items():
            print(f"{provider}: unavailable ({error})", file=sys.stderr)
    if check:
        _print_check(hub, catalog.by_provider, out)
    return 0 if catalog.by_provider or not catalog.errors else 1


def _priced(provider: type[BaseProvider], model: str, now: float) -> tuple[ModelInfo, ModelPrice]:
    info = provider.model_info(model)
    return info, price_of(provider, info, now)


def _price_dict(price: ModelPrice) -> dict[str, Any] | None:
    if price.price is None:
        return None
    return {"per_million_usd": price.price.as_dict(), "source": price.source}


def _utc(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_check(hub: Hub, listed: Mapping[str, Sequence[str]], out: TextIO) -> None:
    """What the providers list that the plugins' tables lack, and the reverse."""
    for provider, models in listed.items():
        table = hub.registry.provider_class(provider).catalogue
        known = {info.id for info in table.models}
        offered = set(models)
        missing = sorted(offered - known)
        retired = sorted(known - offered)
        print(f"{provider}: {len(offered)} listed, {len(known)} in the table", file=out)
        if missing:
            print(f"  not in the table (capabilities guessed): {', '.join(missing)}", file=out)
        if retired:
            print(
                f"  in the table, not listed (retired, or not offered here): {', '.join(retired)}",
                file=out,
            )
        if not missing and not retired:
            print("  the table and the listing agree", file=out)


def _print_model_table(
    infos: Mapping[str, list[tuple[ModelInfo, ModelPrice]]], out: TextIO, now: float
) -> None:
    """One row per model: capabilities, then USD per million tokens ("?" where unknown)."""
    header = (
        "MODEL",
        "CONTEXT",
        "MAX OUT",
        "INPUTS",
        "DOES",
        "REASONING",
        "$ IN",
        "$ CACHED",
        "$ OUT",
    )
    rows = [header]
    from_tables = False
    for provider, models in infos.items():
        for info, priced in models:
            price = priced.price
            mark = "*" if priced.source == "plugin table" else ""
            from_tables = from_tables or bool(mark)
            cached = (
                price.cached_input if price is not None and price.cached_input is not None else None
            )
            rows.append(
                (
                    f"{provider}/{info.id}" + ("" if info.known else " (guessed)"),
                    f"{info.context_window:,}",
                    f"{info.max_output_tokens:,}",
                    " ".join(kind for kind in INPUT_KINDS if kind in info.inputs),
                    _does(info),
                    _reasoning(info),
                    f"{price.input:g}{mark}" if price else "?",
                    f"{cached if cached is not None else price.input:g}{mark}" if price else "?",
                    f"{price.output:g}{mark}" if price else "?",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [
            cell.ljust(width) if i in (0, 3, 4, 5) else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip(), file=out)
    if len(rows) > 1:
        print(
            f"prices: USD per million tokens in force at {_utc(now)}, from {data_version()}"
            + ("; * from the plugin's table (no entry there)" if from_tables else ""),
            file=out,
        )
        print(
            "does: chat, tools (function calling), schema (structured output native;"
            " json: JSON mode, checked), embed; reasoning: the values it takes",
            file=out,
        )


def _does(info: ModelInfo) -> str:
    if info.embeds:
        return "embed"
    return " ".join(
        ["chat", *(["tools"] if info.tools else []), "schema" if info.structured_output else "json"]
    )


def _piped(text: str) -> str:
    """A prompt read from standard input without the newline that ends the last
    line (`echo`, a file): it is not part of what was asked."""
    return text.removesuffix("\n").removesuffix("\r")


def _reasoning(info: ModelInfo) -> str:
    if info.reasoning_levels:
        return ",".join(info.reasoning_levels) + (" (on)" if info.reasoning else "")
    return "always" if info.reasoning else "-"


async def _chat(hub: Hub, args: argparse.Namespace, out: TextIO) -> int:
    prompt = args.prompt if args.prompt is not None else _piped(sys.stdin.read())
    chat_id = args.chat_id or f"cli-{uuid.uuid4().hex[:12]}"
    tools = [load_function(spec) for spec in args.tool]
    schema = _read_schema(args.schema) if args.schema else None
    options = (
        GenerationOptions(reasoning=_reasoning_value(args.reasoning)) if args.reasoning else None
    )
    call = Prompt.of(
        chat_id, prompt, args.model, system=args.system, tools=tools, output=schema, options=options
    )
    reply: Reply | None
    if args.no_stream or schema is not None:
        reply = await hub.reply(call)
        shown = json.dumps(reply.parsed, ensure_ascii=False) if schema is not None else reply.text
        for step in reply.steps:
            for result in step.results:
                _say_tool(result.call.name, result.call.arguments, result.is_error)
        print(shown, file=out)
    else:
        wrote = after_tools = False
        async with hub.stream_reply(call) as stream:
            async for event in stream.events():
                if isinstance(event, str):
                    if after_tools:  # the words after a tool round start a new paragraph
                        out.write("\n\n")
                        after_tools = False
                    out.write(event)
                    out.flush()
                    wrote = wrote or bool(event.strip())
                elif isinstance(event, ToolResultEvent):
                    result = event.result
                    _say_tool(result.call.name, result.call.arguments, result.is_error)
                    after_tools = wrote
        out.write("\n")
        reply = stream.reply
    if reply is not None and reply.fell_back:
        tried = "; ".join(f"{a.provider}/{a.model}: {a.outcome}" for a in reply.attempts)
        print(f"(answered by {reply.provider}/{reply.model}; {tried})", file=sys.stderr)
    if not args.chat_id:
        print(f"(continue with --chat-id {chat_id})", file=sys.stderr)
    return 0


def _say_tool(name: str, arguments: str, failed: bool) -> None:
    print(f"(tool {name}({_clip(arguments, 60)}){' failed' if failed else ''})", file=sys.stderr)


def load_function(spec: str) -> Callable[..., Any]:
    """`module:function` or `path/to/file.py:function`, imported (the current folder
    is searched first, as `python -m` does)."""
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name:
        raise ConfigurationError(
            f"--tool {spec!r}: write it as module:function or file.py:function"
        )
    try:
        if where.endswith(".py"):
            loaded = importlib.util.spec_from_file_location(Path(where).stem, where)
            if loaded is None or loaded.loader is None:
                raise ImportError(f"cannot load {where}")
            module = importlib.util.module_from_spec(loaded)
            loaded.loader.exec_module(module)
        else:
            if "" not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(where)
    except (ImportError, OSError, SyntaxError) as exc:
        raise ConfigurationError(f"--tool {spec!r}: {type(exc).__name__}: {exc}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigurationError(f"--tool {spec!r}: {where} has no function {name!r}")
    return cast(Callable[..., Any], function)


def _read_schema(path: str) -> dict[str, Any]:
    try:
        schema = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"--schema {path}: {exc}") from exc
    if not isinstance(schema, dict):
        raise ConfigurationError(f"--schema {path}: a JSON schema is an object")
    return schema


def _reasoning_value(raw: str) -> Reasoning:
    if raw.isdigit():
        return int(raw)
    if raw not in ("off", "low", "medium", "high"):
        raise ConfigurationError(f"--reasoning {raw!r}: off, low, medium, high or a number")
    return cast(Reasoning, raw)


async def _embed(hub: Hub, args: argparse.Namespace, out: TextIO) -> int:
    texts = args.texts or [line for line in sys.stdin.read().splitlines() if line.strip()]
    result = await hub.embed(texts, args.model)
    for vector in result.vectors:
        print(json.dumps(vector), file=out)
    cost = f", {format_usd(result.cost)}" if result.cost is not None else ""
    print(
        f"({len(result.vectors)} vectors, {result.usage.prompt_tokens} tokens{cost})",
        file=sys.stderr,
    )
    return 0


async def _logs(hub: Hub, args: argparse.Namespace, out: TextIO) -> int:
    exchanges = await hub.store.recent_exchanges(args.count, args.chat_id)
    rounds = await hub.store.tool_steps([row.request_id for row in exchanges])
    for row in exchanges:
        when = dt.datetime.fromtimestamp(row.created_at).strftime("%Y-%m-%d %H:%M:%S")
        status = row.status or "pending"
        latency = f"{row.latency_ms:.0f} ms" if row.latency_ms is not None else "-"
        tokens = f"{row.total_tokens} tok" if row.total_tokens is not None else ""
        cost = format_usd(row.cost_usd) if row.cost_usd is not None else ""
        parts = [when, row.request_id[:8], f"chat {row.chat_id}", f"{row.provider}/{row.model}"]
        print("  ".join(p for p in [*parts, status, latency, tokens, cost] if p), file=out)
        print(f"  > {_clip(row.prompt)}", file=out)
        for step in rounds.get(row.request_id, ()):
            outputs = {result.call.id: result for result in step.results}
            for call in step.calls:
                result = outputs.get(call.id)
                told = "(not run)" if result is None else _clip(result.output, 60)
                took = f" {result.duration_ms:.0f} ms" if result is not None else ""
                failed = " FAILED" if result is not None and result.is_error else ""
                print(
                    f"  🔧 {call.name}({_clip(call.arguments, 60)}){took}{failed}: {told}", file=out
                )
        if row.text:
            print(f"  < {_clip(row.text)}", file=out)
        if row.error_type:
            print(f"  ! {row.error_type}", file=out)
        if row.first_request_id:
            print(f"  ↪ fallback for {row.first_request_id[:8]}", file=out)
    return 0


async def _db(args: argparse.Namespace, out: TextIO) -> int:
    from ._settings import HubSettings, load_environment, read_settings
    from .store import SCHEMA_VERSION, installed_schemas, redact_url, store_from_url
    from .store._copy import copy_store

    if args.db_command == "migrate":
        url = args.url or read_settings(HubSettings, load_environment()).database_url
        installed = installed_schemas()
        async with store_from_url(url) as store:
            version = await store.schema_version()
            held = await store.schema_versions()
            for name in held.keys() & installed.keys():  # the packages' own tables too
                await store.use_schema(installed[name])
            held = await store.schema_versions()
        print(
            f"{redact_url(url)}: schema version {version} (this llmhub: {SCHEMA_VERSION})", file=out
        )
        for name, held_version in held.items():
            mine = installed[name].version if name in installed else "not installed"
            print(f"  {name}: schema version {held_version} (installed: {mine})", file=out)
        return 0
    missing = _missing_sqlite(args.source)
    if missing is not None:  # a mistyped path must not become a new, empty database
        print(f"llmhub: error: no database at {missing}", file=sys.stderr)
        return 1
    async with store_from_url(args.source) as source, store_from_url(args.target) as target:
        report = await copy_store(source, target)
    print(f"{'table':<10} {'source':>9} {'target':>9}  sha256 (source / target)", file=out)
    for table, theirs in report.source.items():
        ours = report.target[table]
        mark = "" if theirs == ours else "  MISMATCH"
        print(
            f"{table:<10} {theirs.rows:>9} {ours.rows:>9}  {theirs.sha256[:16]} / {ours.sha256[:16]}{mark}",
            file=out,
        )
    if report.identical:
        print(f"copied {redact_url(args.source)} -> {redact_url(args.target)}: identical", file=out)
        return 0
    print(
        "llmhub: error: the target differs from the source (it held other rows?)", file=sys.stderr
    )
    return 1


def _clip(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
