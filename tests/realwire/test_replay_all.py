"""Every body the real services sent (`fixtures/` and `fixtures-new/`, sources in
SOURCES.md and SOURCES-new.md), replayed through the plugins by the local fakes.

For each body, what a caller must get is read from the body itself here, by rules
written for the test (not the plugins' parsers): the text, the reasoning kept
apart, the finish reason, every token count (cached and reasoning ones too), the
tool calls, and a blocked prompt or reply as `ContentBlockedError`: ten checks a
body (two for a blocked one). `test_the_replay_covers_every_fixture` makes sure
no body is left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1 as v1
from google.protobuf import json_format

from llmhub import ContentBlockedError, Hub, Reply
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.fakes.gemini_server import FakePredictionService, Step

HERE = Path(__file__).parent
FOLDERS = [HERE / "fixtures", HERE / "fixtures-new"]
KEY = "sk-replay-all-6c5d4e3f"
#: Finish reasons newer than the SDK's enum, as the gRPC wire carries them.
NEWER_FINISH = {"UNEXPECTED_TOOL_CALL": 15, "NO_IMAGE": 16}
BLOCKING = {"SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "RECITATION", "MODEL_ARMOR"}


@dataclass
class Expected:
    text: str = ""
    reasoning: str = ""
    finish: str | None = None
    prompt: int | None = None
    completion: int | None = None
    total: int | None = None
    cached: int | None = None
    reasoning_tokens: int | None = None
    tools: list[str] = field(default_factory=list)
    blocked: str | None = None  # the reason a ContentBlockedError must name


def _bodies() -> list[Path]:
    return sorted(
        path
        for folder in FOLDERS
        for provider in ("mistral", "dipseek", "gemini")
        for path in (folder / provider).glob("*")
        if path.suffix in (".json", ".sse")
    )


def _events(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            yield json.loads(line[5:])


# -- what the OpenAI-style bodies say ----------------------------------------------------


def _split(content: Any) -> tuple[str, str]:
    """(text, thinking) of a message's content: a string, or typed parts."""
    if isinstance(content, str):
        return content, ""
    text, thinking = "", ""
    for part in content or []:
        if part.get("type") == "text":
            text += part["text"]
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            thinking += (
                inner if isinstance(inner, str) else "".join(p.get("text", "") for p in inner or [])
            )
    return text, thinking


def _usage(expected: Expected, usage: dict[str, Any] | None) -> None:
    if not usage:
        return
    expected.prompt = usage.get("prompt_tokens")
    expected.completion = usage.get("completion_tokens")
    expected.total = usage.get("total_tokens")
    details = usage.get("prompt_tokens_details") or {}
    for key in ("prompt_cache_hit_tokens", "num_cached_tokens"):
        if key in usage:
            expected.cached = usage[key]
            break
    else:
        expected.cached = details.get("cached_tokens")
    expected.reasoning_tokens = (usage.get("completion_tokens_details") or {}).get(
        "reasoning_tokens"
    )


def _openai_completion(data: dict[str, Any]) -> Expected:
    choice = data["choices"][0]
    message = choice["message"]
    text, thinking = _split(message.get("content"))
    expected = Expected(text=text, reasoning=(message.get("reasoning_content") or "") + thinking)
    expected.finish = choice.get("finish_reason")
    expected.tools = [call["function"]["name"] for call in message.get("tool_calls") or []]
    _usage(expected, data.get("usage"))
    return expected


def _openai_stream(path: Path) -> Expected:
    expected = Expected()
    for event in _events(path):
        for choice in event.get("choices") or []:
            delta = choice.get("delta") or {}
            text, thinking = _split(delta.get("content"))
            expected.text += text
            expected.reasoning += (delta.get("reasoning_content") or "") + thinking
            for call in delta.get("tool_calls") or []:
                name = (call.get("function") or {}).get("name")
                if name:
                    expected.tools.append(name)
            expected.finish = choice.get("finish_reason") or expected.finish
        if event.get("usage"):
            _usage(expected, event["usage"])
    return expected


# -- what the Gemini bodies say ------------------------------------------------------------


def _gemini_one(expected: Expected, data: dict[str, Any]) -> None:
    block = (data.get("promptFeedback") or {}).get("blockReason")
    if block:
        expected.blocked = block
    for candidate in data.get("candidates") or []:
        parts = (candidate.get("content") or {}).get("parts") or []
        for part in parts:
            if "functionCall" in part:
                expected.tools.append(part["functionCall"]["name"])
            elif part.get("thought"):
                expected.reasoning += part.get("text", "")
            else:
                expected.text += part.get("text", "")
        reason = candidate.get("finishReason")
        if reason:
            if reason in BLOCKING and not expected.text:
                expected.blocked = reason
            expected.finish = reason.lower()
        break
    usage = data.get("usageMetadata")
    if usage:
        expected.prompt = usage.get("promptTokenCount", 0)
        expected.completion = usage.get("candidatesTokenCount", 0) + usage.get(
            "thoughtsTokenCount", 0
        )
        expected.total = usage.get("totalTokenCount", 0)
        expected.cached = usage.get("cachedContentTokenCount") or None
        expected.reasoning_tokens = usage.get("thoughtsTokenCount") or None


def _gemini_response(data: dict[str, Any]) -> v1.GenerateContentResponse:
    """A body as the gRPC wire carries it: newer finish reasons as their numbers."""
    for candidate in data.get("candidates") or []:
        reason = candidate.get("finishReason")
        if reason in NEWER_FINISH:
            candidate["finishReason"] = NEWER_FINISH[reason]
    raw = json_format.ParseDict(data, v1.GenerateContentResponse.pb()(), ignore_unknown_fields=True)
    response: v1.GenerateContentResponse = v1.GenerateContentResponse.wrap(raw)
    return response


# -- the replay ------------------------------------------------------------------------------


def _provider(path: Path) -> str:
    return path.parent.name


def _model(provider: str) -> str:
    return {
        "mistral": "mistral-small-latest",
        "dipseek": "deepseek-chat",
        "gemini": "gemini-2.5-flash",
    }[provider]


def _prepare(path: Path) -> tuple[Expected, Step | Behaviour]:
    """What the body says a caller gets, and how the fake serves it."""
    provider = _provider(path)
    expected = Expected()
    if provider == "gemini":
        if path.suffix == ".sse":
            events = list(_events(path))
            for event in events:
                _gemini_one(expected, json.loads(json.dumps(event)))
            return expected, Step(responses=[_gemini_response(event) for event in events])
        data = json.loads(path.read_text(encoding="utf-8"))
        _gemini_one(expected, json.loads(json.dumps(data)))
        return expected, Step(response=_gemini_response(data))
    if path.suffix == ".sse":
        return _openai_stream(path), Behaviour(sse=path.read_bytes())
    data = json.loads(path.read_text(encoding="utf-8"))
    return _openai_completion(data), Behaviour(body=json.dumps(data))


async def _replay(
    provider: str, served: Step | Behaviour, stream: bool, db: Path
) -> tuple[Reply | None, Exception | None]:
    env = {"LLMHUB_DATABASE_URL": f"sqlite:///{db}", "LLMHUB_MAX_RETRIES": "0"}
    model = _model(provider)
    if isinstance(served, Step):
        async with FakePredictionService() as fake:
            fake.then(served)
            env |= {"GEMINI_PROJECT": "proj-1", "GEMINI_ENDPOINT": fake.target}
            return await _ask(env, stream, model)
    prefix = provider.upper()
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(served)
        env |= {f"{prefix}_API_KEY": KEY, f"{prefix}_ENDPOINT": llm.url}
        return await _ask(env, stream, model)


async def _ask(
    env: dict[str, str], stream: bool, model: str
) -> tuple[Reply | None, Exception | None]:
    async with await Hub.open(env) as hub:
        try:
            if not stream:
                return await hub.reply(1, "replay", model), None
            async with hub.stream_reply(1, "replay", model) as pieces:
                async for _ in pieces:
                    pass
            return pieces.reply, None
        except ContentBlockedError as exc:
            return None, exc


def _check(name: str, reply: Reply | None, error: Exception | None, expected: Expected) -> None:
    if expected.blocked:
        assert isinstance(error, ContentBlockedError), (name, error)
        assert expected.blocked in str(error)
        return
    assert error is None, (name, error)
    assert reply is not None
    for got, want in [
        (reply.text, expected.text),
        (reply.reasoning or "", expected.reasoning),
        (reply.finish_reason, expected.finish),
        (reply.usage.prompt_tokens, expected.prompt),
        (reply.usage.completion_tokens, expected.completion),
        (reply.usage.total_tokens, expected.total),
        (reply.usage.cached_tokens, expected.cached),
        (reply.usage.reasoning_tokens, expected.reasoning_tokens),
        ([call.name for call in reply.tool_calls], expected.tools),
    ]:
        assert got == want, (name, got, want)
    assert reply.request_id is not None


@pytest.mark.parametrize(
    "path", _bodies(), ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}/{p.name}"
)
async def test_a_real_body_replays_as_the_caller_must_see_it(path: Path, tmp_path: Path) -> None:
    expected, served = _prepare(path)
    reply, error = await _replay(_provider(path), served, path.suffix == ".sse", tmp_path / "r.db")
    _check(f"{path.parent.parent.name}/{path.parent.name}/{path.name}", reply, error, expected)


def test_the_replay_covers_every_fixture() -> None:
    bodies = _bodies()
    assert len(bodies) == 24 + 35  # fixtures/ and fixtures-new/ (provider bodies)
    assert {_provider(path) for path in bodies} == {"mistral", "dipseek", "gemini"}
