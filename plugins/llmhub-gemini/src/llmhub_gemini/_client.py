"""The google-cloud-aiplatform side of the Gemini provider.

Importing this module imports the SDK; only `GeminiProvider._sdk()` does it,
on first use. Everything the SDK raises leaves this module as an `LLMHubError`.

Endpoints: by default `{location}-aiplatform.googleapis.com` over TLS, with
`GEMINI_KEY` as `client_options.api_key` (sent as `x-goog-api-key`) or else
Application Default Credentials. `GEMINI_ENDPOINT` overrides the host; a
`host:port` with a port other than 443 is reached over a plain-text gRPC
channel, which is how tests and offline users talk to a local fake server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exc
from google.cloud import aiplatform_v1 as v1
from google.cloud.aiplatform_v1.services.prediction_service.transports.grpc_asyncio import (
    PredictionServiceGrpcAsyncIOTransport,
)

from llmhub import (
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    ContentBlockedError,
    LLMHubError,
    Message,
    ModelNotFoundError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    Reply,
    StreamChunk,
    StreamInterruptedError,
    ToolCall,
    ToolCallDelta,
    Usage,
)

__all__ = ["GeminiClient", "plaintext_target"]

_PROVIDER = "gemini"
#: Finish reasons newer than the SDK's enum arrive as bare numbers.
_NEWER_FINISH = {15: "UNEXPECTED_TOOL_CALL", 16: "NO_IMAGE"}
#: `GenerationOptions.reasoning` levels as `thinking_budget`s (tokens).
THINKING_BUDGETS = {"off": 0, "low": 1024, "medium": 8192, "high": 24576}
_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
_BLOCKING_FINISH = {
    "SAFETY",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "RECITATION",
    "MODEL_ARMOR",
}


def plaintext_target(endpoint: str | None) -> str | None:
    """`host:port` when `endpoint` names a plain-text gRPC server, else `None`."""
    if not endpoint or "://" in endpoint:
        return None
    host, sep, port = endpoint.rpartition(":")
    return endpoint if sep and host and port.isdigit() and port != "443" else None


class GeminiClient:
    """The SDK's async clients, the request builder, and the reply parser."""

    def __init__(
        self, *, location: str, endpoint: str | None, api_key: str | None, timeout: float
    ) -> None:
        self._api_key = api_key
        self._timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._options: ClientOptions | None = None
        target = plaintext_target(endpoint)
        # Over TLS the SDK sends `client_options.api_key` itself; a plain-text channel
        # (a local server) gets the same header from us.
        self._metadata: tuple[tuple[str, str], ...] = (
            (("x-goog-api-key", api_key),) if api_key and target is not None else ()
        )
        try:
            if target is not None:
                self._channel = grpc.aio.insecure_channel(target)
                transport = PredictionServiceGrpcAsyncIOTransport(channel=self._channel)
                self._prediction = v1.PredictionServiceAsyncClient(transport=transport)
            else:
                regional = f"{location}-aiplatform.googleapis.com"
                default = "aiplatform.googleapis.com" if location == "global" else regional
                host = (endpoint or default).split("://")[-1]
                self._options = ClientOptions(api_endpoint=host, api_key=api_key)
                self._prediction = v1.PredictionServiceAsyncClient(client_options=self._options)
        except auth_exc.GoogleAuthError as exc:
            raise AuthenticationError(
                "no Google credentials: set GEMINI_KEY, or run "
                "`gcloud auth application-default login` for Application Default Credentials"
                f" ({type(exc).__name__})",
                provider=_PROVIDER,
            ) from exc

    async def aclose(self) -> None:
        await self._prediction.transport.close()  # type: ignore[no-untyped-call]
        if self._channel is not None:
            await self._channel.close(grace=None)

    # -- requests --------------------------------------------------------------------

    def build_request(self, resource: str, request: ChatRequest) -> v1.GenerateContentRequest:
        """The `GenerateContentRequest` for `request` (see the provider's docstring)."""
        system: list[v1.Part] = []
        contents: list[v1.Content] = []
        for message in request.messages:
            if message.role == "system":
                system.append(v1.Part(text=message.content))
                continue
            role = "model" if message.role == "assistant" else "user"
            parts = list(_parts(message))
            if message.role == "tool" and contents and _answers_calls(contents[-1]):
                contents[-1].parts.extend(parts)  # a round's results go back in one turn
                continue
            contents.append(v1.Content(role=role, parts=parts))
        options = request.options
        config: dict[str, Any] = {
            # Vertex AI's name for the token limit is its own.
            ("max_output_tokens" if name == "max_tokens" else name): value
            for name, value in options.sampling().items()
        }
        if options.stop:
            config["stop_sequences"] = list(options.stop)
        if options.seed is not None:
            config["seed"] = options.seed
        if request.output is not None:
            config["response_mime_type"] = "application/json"
            config["response_json_schema"] = dict(request.output.schema)
        elif options.json_mode:
            config["response_mime_type"] = "application/json"
        if options.reasoning is not None:
            budget = options.reasoning
            if isinstance(budget, str):
                budget = THINKING_BUDGETS[budget]
            config["thinking_config"] = v1.GenerationConfig.ThinkingConfig(
                thinking_budget=budget, include_thoughts=budget != 0
            )
        fields: dict[str, Any] = {"model": resource, "contents": contents}
        if system:
            fields["system_instruction"] = v1.Content(parts=system)
        if config:
            fields["generation_config"] = v1.GenerationConfig(**config)
        if request.tools:
            fields["tools"] = [
                v1.Tool(
                    function_declarations=[
                        v1.FunctionDeclaration(
                            name=tool.name,
                            description=tool.description,
                            parameters_json_schema=dict(tool.parameters),
                        )
                        for tool in request.tools
                    ]
                )
            ]
            if request.tool_choice is not None:
                fields["tool_config"] = v1.ToolConfig(
                    function_calling_config=_calling_config(request.tool_choice)
                )
        return v1.GenerateContentRequest(**fields)

    async def generate(self, resource: str, request: ChatRequest) -> v1.GenerateContentResponse:
        try:
            return await self._prediction.generate_content(
                request=self.build_request(resource, request),
                retry=None,
                timeout=self._timeout,
                metadata=self._metadata,
            )
        except Exception as exc:
            raise self.map_error(exc, request.model) from exc

    async def start_stream(
        self, resource: str, request: ChatRequest
    ) -> tuple[AsyncIterator[v1.GenerateContentResponse], v1.GenerateContentResponse | None]:
        """Open the stream and wait for its first response (errors surface there)."""
        try:
            stream = await self._prediction.stream_generate_content(
                request=self.build_request(resource, request),
                retry=None,
                timeout=self._timeout,
                metadata=self._metadata,
            )
            responses = aiter(stream)
            try:
                first = await anext(responses)
            except StopAsyncIteration:
                first = None
        except Exception as exc:
            raise self.map_error(exc, request.model) from exc
        return responses, first

    async def iter_chunks(
        self,
        responses: AsyncIterator[v1.GenerateContentResponse],
        first: v1.GenerateContentResponse | None,
        model: str,
    ) -> AsyncIterator[StreamChunk]:
        got_text = False
        calls = 0  # each function call comes whole; its index counts across chunks
        if first is not None:
            chunk = self._chunk(first, model, got_text, calls)
            got_text = got_text or bool(chunk.text)
            calls += len(chunk.tool_calls)
            yield chunk
        try:
            async for response in responses:
                chunk = self._chunk(response, model, got_text, calls)
                got_text = got_text or bool(chunk.text)
                calls += len(chunk.tool_calls)
                yield chunk
        except LLMHubError:
            raise
        except Exception as exc:
            error = self.map_error(exc, model)
            if isinstance(error, ProviderUnavailableError):
                error = StreamInterruptedError(
                    f"the stream broke off: {error.message}", provider=_PROVIDER, model=model
                )
            raise error from exc

    async def embed(
        self, resource: str, texts: list[str], model: str
    ) -> tuple[list[list[float]], int]:
        """`PredictionService.Predict` with `instances: [{"content": text}]`: the
        vectors in order and the tokens counted (`statistics.token_count`)."""
        from google.protobuf import json_format, struct_pb2

        instances = [json_format.ParseDict({"content": text}, struct_pb2.Value()) for text in texts]
        request = v1.PredictRequest.wrap(
            v1.PredictRequest.pb()(endpoint=resource, instances=instances)
        )
        try:
            response = await self._prediction.predict(
                request=request, retry=None, timeout=self._timeout, metadata=self._metadata
            )
        except Exception as exc:
            raise self.map_error(exc, model) from exc
        predictions = json_format.MessageToDict(v1.PredictResponse.pb(response)).get(
            "predictions", []
        )
        if len(predictions) != len(texts):
            raise ProviderUnavailableError(
                f"Vertex AI sent {len(predictions)} vectors for {len(texts)} texts",
                provider=_PROVIDER,
                model=model,
            )
        vectors = [[float(x) for x in p["embeddings"]["values"]] for p in predictions]
        tokens = sum(
            int(p["embeddings"].get("statistics", {}).get("token_count", 0)) for p in predictions
        )
        return vectors, tokens

    # -- listing -----------------------------------------------------------------------

    async def list_gemini_models(self) -> list[str] | None:
        """Gemini model ids from Model Garden, or `None` where listing is not allowed."""
        from google.cloud import aiplatform_v1beta1 as v1beta1
        from google.cloud.aiplatform_v1beta1.services.model_garden_service.transports import (
            grpc_asyncio as garden_grpc,
        )

        if self._channel is not None:
            garden = v1beta1.ModelGardenServiceAsyncClient(
                transport=garden_grpc.ModelGardenServiceGrpcAsyncIOTransport(channel=self._channel)
            )
        else:
            garden = v1beta1.ModelGardenServiceAsyncClient(client_options=self._options)
        try:
            pager = await garden.list_publisher_models(
                parent="publishers/google", retry=None, timeout=self._timeout
            )
            names = [m.name.rsplit("/", 1)[-1] async for m in pager]
        except (gexc.PermissionDenied, gexc.NotFound, gexc.MethodNotImplemented):
            return None
        except Exception as exc:
            raise self.map_error(exc, None) from exc
        finally:
            if self._channel is None:
                await garden.transport.close()  # type: ignore[no-untyped-call]
        return sorted({name for name in names if name.startswith("gemini-")})

    # -- replies ------------------------------------------------------------------------

    def to_reply(self, response: v1.GenerateContentResponse, model: str) -> Reply:
        chunk = self._chunk(response, model, got_text=False)
        if not chunk.text and not response.candidates:
            raise ProviderUnavailableError("Vertex AI returned no candidates", provider=_PROVIDER)
        return Reply(
            text=chunk.text,
            model=response.model_version or model,
            provider=_PROVIDER,
            finish_reason=chunk.finish_reason,
            usage=chunk.usage or Usage(),
            reasoning=chunk.reasoning or None,
            tool_calls=tuple(
                ToolCall(d.id or f"call_{d.index}", d.name or "", d.arguments, d.signature)
                for d in chunk.tool_calls
            ),
        )

    def _chunk(
        self, response: v1.GenerateContentResponse, model: str, got_text: bool, calls: int = 0
    ) -> StreamChunk:
        feedback = response.prompt_feedback
        blocked = v1.GenerateContentResponse.PromptFeedback.pb(feedback).block_reason
        if blocked:
            reason = _enum_name(v1.GenerateContentResponse.PromptFeedback.BlockedReason, blocked)
            detail = f": {feedback.block_reason_message}" if feedback.block_reason_message else ""
            raise ContentBlockedError(
                f"the prompt was blocked ({reason}){detail}", provider=_PROVIDER, model=model
            )
        text = reasoning = ""
        finish: str | None = None
        deltas: list[ToolCallDelta] = []
        if response.candidates:
            candidate = response.candidates[0]
            for part in candidate.content.parts:
                if "function_call" in part:
                    index = calls + len(deltas)
                    deltas.append(_call_delta(part, index))
                elif part.thought:
                    reasoning += part.text
                else:
                    text += part.text
            name = _finish_name(v1.Candidate.pb(candidate).finish_reason)
            if name in _BLOCKING_FINISH and not text and not got_text:
                why = f": {candidate.finish_message}" if candidate.finish_message else ""
                raise ContentBlockedError(
                    f"the reply was withheld ({name}){why}", provider=_PROVIDER, model=model
                )
            if name != "FINISH_REASON_UNSPECIFIED":
                finish = name.lower()
        usage = None
        if "usage_metadata" in response:
            meta = response.usage_metadata
            usage = Usage(
                prompt_tokens=meta.prompt_token_count,
                # Thinking tokens are output tokens, counted and billed as such.
                completion_tokens=meta.candidates_token_count + meta.thoughts_token_count,
                total_tokens=meta.total_token_count,
                cached_tokens=meta.cached_content_token_count or None,
                reasoning_tokens=meta.thoughts_token_count or None,
            )
        return StreamChunk(
            text=text,
            reasoning=reasoning,
            finish_reason=finish,
            usage=usage,
            tool_calls=tuple(deltas),
        )

    # -- errors ---------------------------------------------------------------------------

    def map_error(self, exc: BaseException, model: str | None) -> LLMHubError:
        """The `LLMHubError` for anything the SDK, gRPC or google-auth raised."""
        if isinstance(exc, LLMHubError):
            return exc
        if isinstance(exc, grpc.RpcError) and not isinstance(exc, gexc.GoogleAPICallError):
            exc = gexc.from_grpc_error(exc)  # type: ignore[no-untyped-call]
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if self._api_key:
            message = message.replace(self._api_key, "***")
        where: dict[str, Any] = {"provider": _PROVIDER, "model": model}
        if isinstance(exc, gexc.InvalidArgument | gexc.FailedPrecondition | gexc.OutOfRange):
            return BadRequestError(f"request refused: {message}", **where)
        if isinstance(exc, gexc.Unauthenticated | gexc.PermissionDenied | auth_exc.GoogleAuthError):
            return AuthenticationError(f"credentials refused: {message}", **where)
        if isinstance(exc, gexc.NotFound):
            return ModelNotFoundError(f"model not found: {message}", **where)
        if isinstance(exc, gexc.ResourceExhausted):
            return RateLimitError(
                f"quota exhausted: {message}", retry_after=_retry_delay(exc), **where
            )
        if isinstance(exc, gexc.DeadlineExceeded | TimeoutError):
            return ProviderTimeoutError(f"no answer in time: {message}", **where)
        return ProviderUnavailableError(f"{type(exc).__name__}: {message}", **where)


# -- the parts of a request and a reply ---------------------------------------------------


def _parts(message: Message) -> Iterator[v1.Part]:
    """A message's parts: text, files, the model's function calls (with the thought
    signatures Gemini 3 needs back), a tool's function response."""
    if message.role == "tool":
        response = {"output": message.content}
        yield v1.Part(
            function_response=v1.FunctionResponse(name=message.name or "", response=response)
        )
        return
    if message.content:
        yield v1.Part(text=message.content)
    for attachment in message.attachments:
        yield v1.Part(inline_data=v1.Blob(mime_type=attachment.mime_type, data=attachment.data))
    for call in message.tool_calls:
        fields: dict[str, Any] = {
            "function_call": v1.FunctionCall(name=call.name, args=_arguments(call.arguments))
        }
        if call.signature:
            fields["thought_signature"] = base64.b64decode(call.signature)
        yield v1.Part(**fields)


def _answers_calls(content: v1.Content) -> bool:
    return content.role == "user" and any("function_response" in part for part in content.parts)


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _calling_config(choice: str) -> v1.FunctionCallingConfig:
    """`tool_choice` as Gemini's mode: AUTO, NONE, ANY (one named function: ANY of it)."""
    mode = _MODES.get(choice)
    if mode is not None:
        return v1.FunctionCallingConfig(mode=getattr(v1.FunctionCallingConfig.Mode, mode))
    return v1.FunctionCallingConfig(
        mode=v1.FunctionCallingConfig.Mode.ANY, allowed_function_names=[choice]
    )


def _call_delta(part: v1.Part, index: int) -> ToolCallDelta:
    """A function call part, whole, as the stream's piece of call `index`."""
    from google.protobuf import json_format

    call = json_format.MessageToDict(v1.FunctionCall.pb(part.function_call))
    signature = part.thought_signature
    return ToolCallDelta(
        index=index,
        id=f"call_{index}",
        name=str(call.get("name", "")),
        arguments=json.dumps(_whole_numbers(call.get("args", {})), ensure_ascii=False),
        signature=base64.b64encode(signature).decode("ascii") if signature else None,
    )


def _whole_numbers(value: Any) -> Any:
    """protobuf's Struct keeps every number as a double: 3.0 back to 3."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _finish_name(number: int) -> str:
    """The finish reason's name, read from the raw number (the SDK warns on, or fails
    at, a value its enum does not know yet): a newer one by the table, else
    `FINISH_<n>` — never an error."""
    return _NEWER_FINISH.get(number) or _enum_name(v1.Candidate.FinishReason, number, "FINISH")


def _enum_name(enum: Any, number: int, prefix: str = "REASON") -> str:
    """A raw enum number's name, or `<prefix>_<n>` for one newer than the SDK."""
    try:
        return str(enum(number).name)
    except ValueError:
        return f"{prefix}_{number}"


#: The longest wait a `RetryInfo` may ask for that is taken as said (a day).
_LONGEST_WAIT = 86_400.0


def _retry_delay(exc: BaseException) -> float | None:
    """The wait a `google.rpc.RetryInfo` detail asks for, in seconds (as Retry-After is
    read for the HTTP providers); `None` when there is none or it makes no sense."""
    for detail in getattr(exc, "details", None) or ():
        delay = getattr(detail, "retry_delay", None)
        if delay is None:
            continue
        seconds = float(delay.seconds) + float(delay.nanos) / 1e9
        if 0 <= seconds <= _LONGEST_WAIT:
            return seconds
    return None
