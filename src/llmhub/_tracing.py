"""OpenTelemetry spans for llmhub's calls, when the app traces (`aiollmhub[otel]`).

A span per model call (`chat {model}`, kind CLIENT), following the semantic
conventions for generative AI: `gen_ai.operation.name`, `gen_ai.provider.name`,
`gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens` /
`output_tokens`, `gen_ai.response.finish_reasons`, `error.type`; llmhub's own
`llmhub.request_id` (the logged row), `llmhub.cost_usd` and, for streams,
`llmhub.time_to_first_chunk`. A call that falls back has a span per model asked.
The provider's HTTP or gRPC client spans become children of it where their
instrumentation is installed. Prompt and answer text are recorded only when
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.

The cost is nil when tracing is off: with opentelemetry-api not installed, or
no tracer provider set (the API's default), `start()` returns `None` after one
`isinstance` check and nothing else runs (`bench/` measures it). The API is
imported when a hub is built, never by `import llmhub`.

Reference: https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from ._provider import BaseProvider
    from ._types import ChatRequest, Usage

__all__ = ["Tracing"]


class Tracing:
    """Starts and ends the spans of one hub's calls."""

    def __init__(self, *, capture_content: bool = False) -> None:
        self.capture_content = capture_content
        try:
            from opentelemetry import trace
        except ImportError:  # the `otel` extra is not installed
            self._trace: Any = None
            return
        self._trace = trace
        self._off = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
        self._tracers: dict[int, Any] = {}

    def start(
        self, provider: BaseProvider, request: ChatRequest, request_id: str, *, stream: bool
    ) -> Span | None:
        """A started span for one model call, or `None` when nothing traces."""
        if self._trace is None:
            return None
        tracer_provider = self._trace.get_tracer_provider()
        if isinstance(tracer_provider, self._off):
            return None
        tracer = self._tracers.get(id(tracer_provider))
        if tracer is None:
            from . import __version__

            tracer = tracer_provider.get_tracer("llmhub", __version__)
            self._tracers = {id(tracer_provider): tracer}
        options = request.options
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider.otel_name,
            "gen_ai.request.model": request.model,
            "llmhub.provider": provider.name,
            "llmhub.request_id": request_id,
            "llmhub.stream": stream,
        }
        for name, value in options.sampling().items():
            attributes[f"gen_ai.request.{name}"] = value
        if self.capture_content:
            attributes["gen_ai.input.messages"] = json.dumps(
                [{"role": m.role, "content": m.content} for m in request.messages],
                ensure_ascii=False,
            )
        return tracer.start_span(  # type: ignore[no-any-return]
            f"chat {request.model}", kind=self._trace.SpanKind.CLIENT, attributes=attributes
        )

    @contextmanager
    def current(self, span: Span) -> Iterator[None]:
        """`span` as the current one, so the client's own spans become its children."""
        with self._trace.use_span(span, end_on_exit=False, record_exception=False):
            yield

    def first_chunk(self, span: Span, seconds: float) -> None:
        span.set_attribute("llmhub.time_to_first_chunk", seconds)

    def answered(
        self,
        span: Span,
        *,
        model: str,
        text: str,
        finish: str | None,
        usage: Usage,
        cost: float | None,
    ) -> None:
        """End the span of a call that was answered."""
        span.set_attribute("gen_ai.response.model", model)
        if finish:
            span.set_attribute("gen_ai.response.finish_reasons", [finish])
        if usage.prompt_tokens is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
        if usage.completion_tokens is not None:
            span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
        if cost is not None:
            span.set_attribute("llmhub.cost_usd", cost)
        if self.capture_content:
            span.set_attribute(
                "gen_ai.output.messages",
                json.dumps([{"role": "assistant", "content": text}], ensure_ascii=False),
            )
        span.end()

    def failed(self, span: Span, error: BaseException | str) -> None:
        """End the span of a call that failed (or was cancelled: `error` "cancelled")."""
        error_type = error if isinstance(error, str) else type(error).__name__
        span.set_attribute("error.type", error_type)
        if isinstance(error, BaseException):
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, str(error)))
        span.end()
