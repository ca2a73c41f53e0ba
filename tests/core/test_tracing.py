"""OpenTelemetry spans of llmhub's calls, read back from the SDK's in-memory exporter;
the HTTP client's spans as their children; nothing at all when nothing traces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from llmhub import ChatRequest, Hub, Message
from llmhub._tracing import Tracing
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer

KEY = "sk-trace-key"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """A tracer provider of the test's own (the global one can be set once per process),
    and aiohttp's client instrumented with it, as an app's setup would."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


async def _hub(tmp_path: Path, server: FakeOpenAIServer, **extra: str) -> Hub:
    return await Hub.open(
        {
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'trace.db'}",
            "LLMHUB_MAX_RETRIES": "0",
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": server.url,
            "DIPSEEK_API_KEY": KEY,
            "DIPSEEK_ENDPOINT": server.url,
            **extra,
        }
    )


def _ours(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("chat ")]


def _children(exporter: InMemorySpanExporter, parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [
        s
        for s in exporter.get_finished_spans()
        if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]


async def test_a_call_is_one_client_span_with_the_gen_ai_attributes(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as server, await _hub(tmp_path, server) as hub:
        reply = await hub.reply(1, "hello there", "mistral-small-latest")
        [row] = await hub.store.recent_exchanges()
    [span] = _ours(spans)
    assert span.name == "chat mistral-small-latest"
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "mistral_ai",
        "gen_ai.request.model": "mistral-small-latest",
        "gen_ai.response.model": "mistral-small-latest",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 3,
        "llmhub.provider": "mistral",
        "llmhub.request_id": row.request_id,
        "llmhub.stream": False,
        "llmhub.cost_usd": reply.cost,
    }
    # The prompt and the answer are not recorded unless asked for.
    assert "hello there" not in str(attributes)
    [http] = _children(spans, span)
    assert http.kind is SpanKind.CLIENT
    assert http.name == "POST"


async def test_a_stream_span_notes_its_first_chunk_and_parents_the_request(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with (
        FakeOpenAIServer(api_key=KEY) as server,
        await _hub(tmp_path, server) as hub,
        hub.stream_reply(1, "hello", "deepseek-chat") as stream,
    ):
        assert "".join([piece async for piece in stream]) == "echo: hello"
    [span] = _ours(spans)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.provider.name"] == "deepseek"
    assert attributes["llmhub.stream"] is True
    assert attributes["llmhub.request_id"] == stream.request_id
    assert 0 < float(attributes["llmhub.time_to_first_chunk"]) < 60  # type: ignore[arg-type]
    assert attributes["gen_ai.usage.output_tokens"] == 2
    assert len(_children(spans, span)) == 1


async def test_each_model_of_a_fallback_has_its_span_and_the_failure_its_error(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as server:
        server.then(Behaviour(status=503, body={"message": "overloaded"}))
        async with await _hub(tmp_path, server, LLMHUB_FALLBACKS="deepseek-chat") as hub:
            reply = await hub.reply(1, "hello", "mistral-small-latest")
    assert reply.provider == "dipseek"
    failed, answered = sorted(_ours(spans), key=lambda s: s.start_time or 0)
    assert failed.name == "chat mistral-small-latest"
    assert (failed.attributes or {})["error.type"] == "ProviderUnavailableError"
    assert failed.status.status_code is StatusCode.ERROR
    assert answered.name == "chat deepseek-chat"
    assert "error.type" not in (answered.attributes or {})
    assert (answered.attributes or {})["llmhub.request_id"] == reply.attempts[0].request_id + ".1"


async def test_content_is_recorded_only_when_the_standard_variable_asks(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    async with FakeOpenAIServer(api_key=KEY) as server:
        env = {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}
        async with await _hub(tmp_path, server, **env) as hub:
            await hub.reply(1, "hello there", "mistral-small-latest", system="be brief")
    [span] = _ours(spans)
    attributes = dict(span.attributes or {})
    assert attributes["gen_ai.input.messages"] == (
        '[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]'
    )
    assert attributes["gen_ai.output.messages"] == (
        '[{"role": "assistant", "content": "echo: hello there"}]'
    )


def test_without_a_tracer_provider_nothing_is_started() -> None:
    from llmhub_mistral import MistralProvider

    tracing = Tracing()
    request = ChatRequest("mistral-small-latest", (Message("user", "hi"),))
    provider = MistralProvider({"MISTRAL_API_KEY": "k"})
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert tracing.start(provider, request, "r1", stream=False) is None
