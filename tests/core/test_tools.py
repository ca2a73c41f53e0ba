"""Tools from plain functions: their schema, the check of a model's arguments, and
how a call runs (errors go back to the model, never up the caller's stack)."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Literal

import pytest
from pydantic import BaseModel

from llmhub import Tool, ToolCall
from llmhub._output import output_type
from llmhub._tools import run_tool_calls


def weather(city: str, unit: Literal["C", "F"] = "C", days: int = 1) -> str:
    """The weather forecast for a city.

    Args:
        city: The city's name, e.g. "Paris".
        unit: Celsius or Fahrenheit.
        days: How many days ahead,
            counted from today.
    """
    return f"{city}: 21 {unit} for {days} day(s)"


async def slow_lookup(key: str) -> dict[str, str]:
    """Look a key up.

    :param key: the key to look up
    """
    await asyncio.sleep(0)
    return {"key": key, "value": "v"}


def test_a_function_becomes_a_schema_from_its_hints_and_docstring() -> None:
    tool = Tool.from_function(weather)
    assert tool.name == "weather"
    assert tool.description == "The weather forecast for a city."
    schema = tool.parameters_schema
    assert schema["type"] == "object"
    assert schema["required"] == ["city"]
    assert schema["properties"]["city"] == {
        "type": "string",
        "description": 'The city\'s name, e.g. "Paris".',
    }
    assert schema["properties"]["unit"]["enum"] == ["C", "F"]
    assert schema["properties"]["days"]["description"] == "How many days ahead, counted from today."
    assert schema["additionalProperties"] is False
    sphinx = Tool.from_function(slow_lookup)
    assert sphinx.description == "Look a key up."
    assert sphinx.parameters_schema["properties"]["key"]["description"] == "the key to look up"


def test_a_hand_written_tool_keeps_its_schema() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    tool = Tool("search", "Search the web.", schema, fn=lambda q: q.upper())
    assert tool.spec.parameters == schema
    with pytest.raises(ValueError, match="letters, digits"):
        Tool("no spaces allowed", "", schema)


async def test_arguments_are_checked_and_converted_before_the_function_runs() -> None:
    tool = Tool.from_function(weather)
    ok = await tool.run(ToolCall("1", "weather", '{"city": "Oslo", "days": "3"}'))
    assert (ok.output, ok.is_error) == ("Oslo: 21 C for 3 day(s)", False)
    bad = await tool.run(ToolCall("2", "weather", '{"unit": "K"}'))
    assert bad.is_error
    assert "city: Field required" in bad.output
    assert "unit: Input should be 'C' or 'F'" in bad.output
    extra = await tool.run(ToolCall("3", "weather", '{"city": "Oslo", "rain": true}'))
    assert extra.is_error
    assert "rain" in extra.output
    not_json = await tool.run(ToolCall("4", "weather", '{"city": '))
    assert not_json.is_error
    assert "invalid arguments for weather" in not_json.output


async def test_a_hand_written_schema_checks_required_and_types() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
        "additionalProperties": False,
    }
    tool = Tool("double", "Double a number.", schema, fn=lambda n: n * 2)
    assert (await tool.run(ToolCall("1", "double", '{"n": 4}'))).output == "8"
    for arguments, problem in [
        ("{}", "n: required"),
        ('{"n": "4"}', "n: expected integer"),
        ('{"n": true}', "n: expected integer"),
        ('{"n": 1, "m": 2}', "m: not a parameter"),
    ]:
        result = await tool.run(ToolCall("2", "double", arguments))
        assert result.is_error, arguments
        assert problem in result.output, arguments


async def test_a_tool_that_raises_answers_the_model_with_the_error() -> None:
    def broken(path: str) -> str:
        raise FileNotFoundError(f"no such file: {path}")

    result = await Tool.from_function(broken).run(ToolCall("1", "broken", '{"path": "/x"}'))
    assert result.is_error
    assert result.output == "FileNotFoundError: no such file: /x"


async def test_results_are_json_and_long_ones_are_cut_with_a_note() -> None:
    @dataclass
    class Point:
        x: int
        y: int

    def point() -> Point:
        """A point."""
        return Point(1, 2)

    def huge() -> str:
        """Much text."""
        return "x" * 150_000

    assert (await Tool.from_function(point).run(ToolCall("1", "point"))).output == '{"x":1,"y":2}'
    looked = await Tool.from_function(slow_lookup).run(ToolCall("2", "slow_lookup", '{"key": "k"}'))
    assert looked.output == '{"key": "k", "value": "v"}'
    cut = await Tool.from_function(huge).run(ToolCall("3", "huge"))
    assert cut.output.startswith("x" * 100)
    assert cut.output.endswith("[… 50000 more characters cut]")


async def test_parallel_calls_run_at_once_and_sync_ones_off_the_loop() -> None:
    both_started = threading.Barrier(2, timeout=5)
    loop_thread = threading.get_ident()
    threads: list[int] = []

    def wait_for_the_other(name: str) -> str:
        """Wait."""
        threads.append(threading.get_ident())
        both_started.wait()  # would deadlock if the two ran one after the other
        return name

    tool = Tool.from_function(wait_for_the_other)
    calls = [
        ToolCall("a", "wait_for_the_other", '{"name": "a"}'),
        ToolCall("b", "wait_for_the_other", '{"name": "b"}'),
        ToolCall("c", "missing", "{}"),
    ]
    results = await run_tool_calls([tool], calls)
    assert [r.output for r in results[:2]] == ["a", "b"]
    assert loop_thread not in threads
    assert results[2].is_error
    assert results[2].output == "unknown tool 'missing'; the tools are: wait_for_the_other"


class City(BaseModel):
    name: str
    population: int


@dataclass
class Pair:
    left: int
    right: int


def test_a_structured_output_parses_models_dataclasses_and_schemas() -> None:
    city = output_type(City)
    assert city.spec.name == "City"
    assert city.spec.schema["required"] == ["name", "population"]
    assert city.parse('{"name": "Oslo", "population": 700000}') == City(
        name="Oslo", population=700000
    )
    assert city.parse('```json\n{"name": "Oslo", "population": 1}\n```').population == 1
    with pytest.raises(ValueError, match="population: Field required"):
        city.parse('{"name": "Oslo"}')
    assert output_type(Pair).parse('{"left": 1, "right": 2}') == Pair(1, 2)
    raw = output_type(
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    )
    assert raw.parse('{"a": "x"}') == {"a": "x"}
    with pytest.raises(ValueError, match="a: required"):
        raw.parse("{}")
    with pytest.raises(ValueError, match="not JSON"):
        raw.parse("Sure! Here it is")
