"""A local fake of Vertex AI's `PredictionService` over plain-text gRPC.

google-cloud-aiplatform ships no servicers, so the two methods are served
with a generic handler using the SDK's own message (de)serialisers: the
provider's real gapic client and gRPC channel are exercised, byte for byte.

Run it by hand to try the Gemini provider offline:

    .venv/bin/python -m tests.fakes.gemini_server --port 8090
    GEMINI_PROJECT=x GEMINI_ENDPOINT=127.0.0.1:8090 .venv/bin/llmhub chat -m gemini-2.5-flash "hi"
"""

from __future__ import annotations

import argparse
import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from google.cloud import aiplatform_v1 as v1

SERVICE = "google.cloud.aiplatform.v1.PredictionService"


@dataclass
class Step:
    """How to answer one call: a reply, a gRPC error, or a block."""

    text: str | None = None  # default "echo: <last user text>"
    code: grpc.StatusCode | None = None
    message: str = ""
    #: With `code`: a `google.rpc.RetryInfo` detail asking to wait this many seconds.
    retry_delay: float | None = None
    block_reason: str | None = None  # prompt blocked (e.g. "SAFETY")
    finish_reason: str = "STOP"
    #: Answer exactly this (a response captured from the real service), streamed as one.
    response: v1.GenerateContentResponse | None = None
    #: Stream exactly these (a stream captured from the real service), one by one.
    responses: list[v1.GenerateContentResponse] | None = None
    #: Ask for tools instead: `{"name": …, "args": {…}}` each, in one model turn,
    #: each with this thought signature (as Gemini 3 sends them).
    function_calls: list[dict[str, Any]] | None = None
    signature: bytes = b""


class FakePredictionService:
    """`async with FakePredictionService() as fake:` then `GEMINI_ENDPOINT=fake.target`."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.requests: list[v1.GenerateContentRequest] = []
        self.predictions: list[v1.PredictRequest] = []
        #: Each call's metadata (headers), in order.
        self.metadata: list[dict[str, str]] = []
        self.steps: deque[Step] = deque()
        self._server: grpc.aio.Server | None = None
        self.target = ""

    def then(self, *steps: Step) -> None:
        self.steps.extend(steps)

    async def __aenter__(self) -> FakePredictionService:
        handlers = {
            "GenerateContent": grpc.unary_unary_rpc_method_handler(
                self._generate,
                request_deserializer=v1.GenerateContentRequest.deserialize,
                response_serializer=v1.GenerateContentResponse.serialize,
            ),
            "StreamGenerateContent": grpc.unary_stream_rpc_method_handler(
                self._stream,
                request_deserializer=v1.GenerateContentRequest.deserialize,
                response_serializer=v1.GenerateContentResponse.serialize,
            ),
            "Predict": grpc.unary_unary_rpc_method_handler(
                self._predict,
                request_deserializer=v1.PredictRequest.deserialize,
                response_serializer=v1.PredictResponse.serialize,
            ),
        }
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        port = self._server.add_insecure_port(f"127.0.0.1:{self.port}")
        await self._server.start()
        self.target = f"127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)

    def _step(
        self, request: v1.GenerateContentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> tuple[Step, str]:
        self.requests.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        step = self.steps.popleft() if self.steps else Step()
        parts = request.contents[-1].parts if request.contents else []
        last = parts[0].text if parts else ""
        return step, step.text if step.text is not None else f"echo: {last}"

    @staticmethod
    def _calls(step: Step) -> v1.GenerateContentResponse:
        parts = [
            v1.Part(
                function_call=v1.FunctionCall(name=call["name"], args=call.get("args", {})),
                thought_signature=step.signature,
            )
            for call in step.function_calls or ()
        ]
        return v1.GenerateContentResponse(
            model_version="gemini-2.5-flash-001",
            candidates=[
                v1.Candidate(
                    content=v1.Content(role="model", parts=parts),
                    finish_reason=v1.Candidate.FinishReason.STOP,
                )
            ],
            usage_metadata=v1.GenerateContentResponse.UsageMetadata(
                prompt_token_count=10, candidates_token_count=5, total_token_count=15
            ),
        )

    async def _predict(
        self, request: v1.PredictRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> v1.PredictResponse:
        """Text embeddings: a vector of 4 numbers made from each text, as the OpenAI-style
        fake makes them, and its word count as `statistics.token_count`."""
        from google.protobuf import json_format, struct_pb2

        self.predictions.append(request)
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        step = self.steps.popleft() if self.steps else Step()
        if step.code is not None:
            await self._fail(step, context)
        instances = json_format.MessageToDict(v1.PredictRequest.pb(request)).get("instances", [])
        predictions = []
        for instance in instances:
            text = str(instance["content"])
            vector = [float(len(text)), *(float(ord(c)) for c in (text + "   ")[:3])]
            stats = {"token_count": float(len(text.split())), "truncated": False}
            value = {"embeddings": {"values": vector, "statistics": stats}}
            predictions.append(json_format.ParseDict(value, struct_pb2.Value()))
        response: v1.PredictResponse = v1.PredictResponse.wrap(
            v1.PredictResponse.pb()(predictions=predictions)
        )
        return response

    @staticmethod
    def _response(text: str, finish: str | None, usage: bool) -> v1.GenerateContentResponse:
        fields: dict[str, Any] = {"model_version": "gemini-2.5-flash-001"}
        candidate: dict[str, Any] = {
            "content": v1.Content(role="model", parts=[v1.Part(text=text)])
        }
        if finish:
            candidate["finish_reason"] = getattr(v1.Candidate.FinishReason, finish)
        fields["candidates"] = [v1.Candidate(**candidate)]
        if usage:
            fields["usage_metadata"] = v1.GenerateContentResponse.UsageMetadata(
                prompt_token_count=4, candidates_token_count=3, total_token_count=7
            )
        return v1.GenerateContentResponse(**fields)

    @staticmethod
    async def _fail(step: Step, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        """Abort as Vertex AI does: the code, the message, and (rich status) the details."""
        assert step.code is not None
        if step.retry_delay is None:
            await context.abort(step.code, step.message)
        from google.protobuf import any_pb2, duration_pb2
        from google.rpc import error_details_pb2, status_pb2

        seconds = int(step.retry_delay or 0)
        nanos = round(((step.retry_delay or 0) - seconds) * 1e9)
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.RetryInfo(
                retry_delay=duration_pb2.Duration(seconds=seconds, nanos=nanos)
            )
        )
        status = status_pb2.Status(code=step.code.value[0], message=step.message, details=[detail])
        await context.abort(
            step.code,
            step.message,
            trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
        )

    async def _generate(
        self, request: v1.GenerateContentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> v1.GenerateContentResponse:
        step, text = self._step(request, context)
        if step.code is not None:
            await self._fail(step, context)
        if step.response is not None:
            return step.response
        if step.function_calls:
            return self._calls(step)
        if step.block_reason:
            blocked = getattr(
                v1.GenerateContentResponse.PromptFeedback.BlockedReason, step.block_reason
            )
            return v1.GenerateContentResponse(
                prompt_feedback=v1.GenerateContentResponse.PromptFeedback(block_reason=blocked)
            )
        if step.finish_reason != "STOP":
            return self._response("", step.finish_reason, usage=True)
        return self._response(text, step.finish_reason, usage=True)

    async def _stream(
        self, request: v1.GenerateContentRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[v1.GenerateContentResponse]:
        step, text = self._step(request, context)
        if step.code is not None:
            await self._fail(step, context)
        if step.response is not None:
            yield step.response
            return
        if step.responses is not None:
            for response in step.responses:
                yield response
            return
        if step.function_calls:
            yield self._calls(step)
            return
        words = text.split(" ")
        for i, word in enumerate(words):
            last = i == len(words) - 1
            piece = word if i == 0 else " " + word
            yield self._response(piece, step.finish_reason if last else None, usage=last)


async def _serve(port: int) -> None:
    async with FakePredictionService(port) as fake:
        print(f"fake Vertex AI PredictionService on {fake.target}", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    asyncio.run(_serve(parser.parse_args().port))
