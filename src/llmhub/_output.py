"""Structured replies: the schema a reply must follow, and its parsing.

`Prompt.output` takes a pydantic model, a dataclass (any type pydantic's
`TypeAdapter` takes) or a JSON schema as a dict. The provider is told the
schema its own way (Mistral `response_format: json_schema`, Gemini
`response_json_schema`; DeepSeek, which has only JSON mode, gets the schema in
its instructions), and the reply is parsed here. pydantic is imported on first
use only.
"""

from __future__ import annotations

import contextlib
import json
import re
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._types import OutputSpec

__all__ = ["OutputType", "output_type", "schema_instruction"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*)\n\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class OutputType:
    """What a structured call asks for and how its reply is read."""

    spec: OutputSpec
    #: The reply's text to the object; `ValueError` saying what did not match.
    parse: Callable[[str], Any]


#: Types already made an `OutputType` of: pydantic's schema and validator cost far more
#: than a call.
_MADE: weakref.WeakKeyDictionary[Any, OutputType] = weakref.WeakKeyDictionary()


def output_type(value: Any) -> OutputType:
    """The `OutputType` of a pydantic model, a dataclass, a type, or a JSON schema dict
    (made once per type)."""
    try:
        return _MADE[value]
    except (KeyError, TypeError):  # TypeError: a dict, or a type without weak references
        pass
    made = _make(value)
    with contextlib.suppress(TypeError):
        _MADE[value] = made
    return made


def _make(value: Any) -> OutputType:
    if isinstance(value, Mapping):
        schema = dict(value)
        name = _name(str(schema.get("title") or "output"))
        return OutputType(OutputSpec(name, schema), lambda text: _parse_dict(text, schema))
    from pydantic import TypeAdapter, ValidationError

    adapter: TypeAdapter[Any] = TypeAdapter(value)
    schema = adapter.json_schema()
    name = _name(getattr(value, "__name__", "output"))

    def parse(text: str) -> Any:
        try:
            return adapter.validate_json(_unfenced(text))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(map(str, e.get('loc', ()))) or 'reply'}: {e.get('msg')}"
                for e in exc.errors(include_url=False)
            ]
            raise ValueError("; ".join(problems)) from exc

    return OutputType(OutputSpec(name, schema), parse)


def schema_instruction(spec: OutputSpec) -> str:
    """The instruction that asks a model in plain JSON mode for this schema."""
    return (
        "Answer with one JSON object only, no prose and no code fence, that follows"
        f" this JSON schema:\n{json.dumps(spec.schema, ensure_ascii=False)}"
    )


def _parse_dict(text: str, schema: Mapping[str, Any]) -> Any:
    from ._tools import _check_against_schema

    try:
        value = json.loads(_unfenced(text))
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if schema.get("type") == "object":
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        _check_against_schema(value, schema)
    return value


def _unfenced(text: str) -> str:
    """A reply's JSON without the Markdown code fence some models put around it."""
    fenced = _FENCE.match(text)
    return fenced.group(1) if fenced else text


def _name(raw: str) -> str:
    """A schema name the APIs accept: letters, digits, '_' and '-', at most 64."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:64] or "output"
