"""Tools a model may call: plain Python functions, described to the model by their
name, docstring and type hints, and run by the hub when the model asks.

    def weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        \"\"\"The weather now in a city.

        Args:
            city: The city's name, e.g. "Paris".
        \"\"\"

    reply = await hub.reply(1, "Warm in Paris?", tools=[weather])

The JSON schema of a function's parameters, and the check of the arguments the
model sends, are pydantic's (imported on first use: `import llmhub` loads no
pydantic). `Tool(name, description, parameters_schema, fn)` takes a schema
written by hand instead.

A tool that raises, a call to an unknown tool and arguments that fail the check
are answered to the model with the error's text, so it can correct itself; they
never reach the caller's stack. Sync functions run in a worker thread, so a
slow one does not stall the event loop and parallel calls really run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import re
import time
import typing
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._types import ToolCall, ToolResult, ToolSpec

__all__ = ["Tool", "as_tool", "run_tool_calls"]

#: What a tool's output may be at most, in characters, when sent back to the model.
MAX_OUTPUT_CHARS = 100_000

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:\s*$", re.MULTILINE)
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]+\s)?(\w+)\s*:\s*(.+)$", re.MULTILINE)
_ENTRY = re.compile(r"^(\w+)(?:\s*\([^)]*\))?\s*:\s*(.*)$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Tool:
    """A tool the model may call.

    `fn` runs it (sync or async, called with the arguments as keywords); a tool
    without `fn` can only be returned to the caller (`Prompt.run_tools=False`).
    Build one from a function with `Tool.from_function(fn)`, or by hand with a
    JSON schema of the parameters.
    """

    name: str
    description: str
    parameters_schema: Mapping[str, Any]
    fn: Callable[..., Any] | None = None
    #: Checks and converts the model's arguments (a function's are checked by
    #: pydantic against its type hints); raises `ValueError` naming what is wrong.
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"tool name {self.name!r}: letters, digits, '_' and '-' only, at most 64"
            )

    @classmethod
    def from_function(
        cls, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> Tool:
        """A tool from a function: its name, its docstring (the text before an
        `Args:` section, whose entries describe the parameters) and its type hints."""
        model = _arguments_model(fn)
        schema = model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            if isinstance(prop, dict):
                prop.pop("title", None)

        def validate(arguments: dict[str, Any]) -> dict[str, Any]:
            from pydantic import ValidationError

            try:
                checked = model.model_validate(arguments)
            except ValidationError as exc:
                raise ValueError(_validation_text(exc)) from exc
            return {key: getattr(checked, key) for key in type(checked).model_fields}

        summary, _ = _docstring_parts(inspect.getdoc(fn) or "")
        return cls(
            name=name or fn.__name__,
            description=description if description is not None else summary,
            parameters_schema=schema,
            fn=fn,
            validate=validate,
        )

    @property
    def spec(self) -> ToolSpec:
        """The tool as the provider is told about it."""
        return ToolSpec(self.name, self.description, self.parameters_schema)

    def check(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments, checked; `ValueError` naming what is wrong."""
        if self.validate is not None:
            return self.validate(arguments)
        return _check_against_schema(arguments, self.parameters_schema)

    async def run(self, call: ToolCall) -> ToolResult:
        """Run the call; any failure becomes an error result the model reads."""
        started = time.perf_counter()
        try:
            arguments = self.check(call.args())
        except ValueError as exc:  # not JSON, or not what the schema says
            output, is_error = f"invalid arguments for {self.name}: {exc}", True
        else:
            try:
                output, is_error = _as_text(await self._call(arguments)), False
            except Exception as exc:  # the tool's own failure, told to the model
                output, is_error = f"{type(exc).__name__}: {exc}", True
        elapsed = (time.perf_counter() - started) * 1000
        return ToolResult(call, _clip(output), is_error, elapsed)

    async def _call(self, arguments: dict[str, Any]) -> Any:
        if self.fn is None:
            raise RuntimeError(f"tool {self.name!r} has no function to run")
        if inspect.iscoroutinefunction(self.fn):
            return await self.fn(**arguments)
        value = await asyncio.to_thread(self.fn, **arguments)
        return await value if inspect.isawaitable(value) else value


#: Functions already described: building a function's schema costs far more than a call.
_MADE: weakref.WeakKeyDictionary[Callable[..., Any], Tool] = weakref.WeakKeyDictionary()


def as_tool(value: Any) -> Tool:
    """A `Tool` as it is, or a function made one (once per function)."""
    if isinstance(value, Tool):
        return value
    if callable(value):
        try:
            return _MADE[value]
        except (KeyError, TypeError):  # TypeError: not weakly referenceable
            pass
        tool = Tool.from_function(value)
        with contextlib.suppress(TypeError):
            _MADE[value] = tool
        return tool
    raise TypeError(f"a tool is a function or a llmhub.Tool, not {type(value).__name__}")


async def run_tool_calls(tools: Iterable[Tool], calls: Sequence[ToolCall]) -> list[ToolResult]:
    """Run the calls at once, results in the calls' order. An unknown tool's call is
    answered with an error naming the tools there are."""
    by_name = {tool.name: tool for tool in tools}

    async def one(call: ToolCall) -> ToolResult:
        tool = by_name.get(call.name)
        if tool is None:
            known = ", ".join(sorted(by_name)) or "none"
            return ToolResult(call, f"unknown tool {call.name!r}; the tools are: {known}", True)
        return await tool.run(call)

    return list(await asyncio.gather(*(one(call) for call in calls)))


# -- schemas ------------------------------------------------------------------------


def _arguments_model(fn: Callable[..., Any]) -> Any:
    """A pydantic model of `fn`'s parameters, described from its docstring."""
    from pydantic import ConfigDict, Field, create_model

    signature = inspect.signature(fn)
    hints = _parameter_hints(fn)
    _, described = _docstring_parts(inspect.getdoc(fn) or "")
    fields: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise TypeError(f"tool {fn.__name__}: *{name} cannot be described to a model")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise TypeError(f"tool {fn.__name__}: {name} is positional-only")
        annotation = hints.get(name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (annotation, Field(default, description=described.get(name)))
    return create_model(
        f"{fn.__name__}_arguments",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=False),
        **fields,
    )


def _parameter_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' type hints, evaluated; the return annotation is left alone (it
    may name a type the function's module cannot see, and the model never needs it)."""
    raw = {k: v for k, v in inspect.get_annotations(fn).items() if k != "return"}

    def stub() -> None: ...

    stub.__annotations__ = raw
    return typing.get_type_hints(
        stub, globalns=getattr(fn, "__globals__", None), include_extras=True
    )


def _docstring_parts(doc: str) -> tuple[str, dict[str, str]]:
    """(the description, {parameter: its description}) from a Google or Sphinx docstring."""
    described = {name: text.strip() for name, text in _SPHINX_PARAM.findall(doc)}
    header = _ARGS_HEADER.search(doc)
    summary = doc[: header.start()] if header else doc
    summary = _SPHINX_PARAM.sub("", summary).strip()
    if header:
        entry_indent: int | None = None
        current: str | None = None
        for line in doc[header.end() :].splitlines():
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            if indent == 0:
                break  # the next section
            entry_indent = indent if entry_indent is None else entry_indent
            entry = _ENTRY.match(line.strip())
            if indent == entry_indent and entry:
                current = entry.group(1)
                described[current] = entry.group(2).strip()
            elif current:
                described[current] = f"{described[current]} {line.strip()}".strip()
    return summary, described


def _validation_text(exc: Any) -> str:
    """A pydantic `ValidationError` in a line a model can act on."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


_JSON_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _check_against_schema(arguments: dict[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The checks a hand-written schema allows without a JSON Schema library:
    required properties, unknown ones where they are forbidden, top-level types."""
    properties = schema.get("properties") or {}
    problems = [f"{name}: required" for name in schema.get("required", ()) if name not in arguments]
    if schema.get("additionalProperties") is False:
        problems += [f"{name}: not a parameter" for name in arguments if name not in properties]
    for name, value in arguments.items():
        expected = properties.get(name, {}).get("type") if isinstance(properties, dict) else None
        kinds = _JSON_TYPES.get(expected) if isinstance(expected, str) else None
        wrong_bool = isinstance(value, bool) and expected in ("integer", "number")
        if kinds is not None and (not isinstance(value, kinds) or wrong_bool):
            problems.append(f"{name}: expected {expected}")
    if problems:
        raise ValueError("; ".join(problems))
    return arguments


def _as_text(value: Any) -> str:
    """A tool's return value as the text the model reads: strings as they are, the
    rest as JSON (pydantic models, dataclasses and dates included)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        from pydantic_core import to_json

        return to_json(value, fallback=str).decode()


def _clip(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    cut = len(text) - MAX_OUTPUT_CHARS
    return f"{text[:MAX_OUTPUT_CHARS]}\n[… {cut} more characters cut]"
