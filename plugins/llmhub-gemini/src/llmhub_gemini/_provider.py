"""`GeminiProvider`: what it is, and the calls, with the SDK behind `_client`.

Two ways in:

- Vertex AI with a project (`GEMINI_PROJECT`): the regional endpoint
  `{GEMINI_LOCATION}-aiplatform.googleapis.com`, Application Default
  Credentials or `GEMINI_KEY`.
- Vertex AI express mode (`GEMINI_KEY` and no project): the global endpoint
  `aiplatform.googleapis.com`, model resources without project or location,
  the key sent as `x-goog-api-key`. Reference:
  https://cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode

Payload sent (`google.cloud.aiplatform.v1.GenerateContentRequest`):

    model:              projects/{GEMINI_PROJECT}/locations/{GEMINI_LOCATION}/publishers/google/models/{model}
                        (express mode: publishers/google/models/{model})
    contents:           [Content(role="user"|"model", parts=[Part(text=…), Part(inline_data=Blob(mime_type, data)),
                                 Part(function_call=FunctionCall(name, args), thought_signature),
                                 Part(function_response=FunctionResponse(name, response={"output": …}))])]
    system_instruction: Content(parts=[Part(text=system)])            when there is a system message
    generation_config:  GenerationConfig(temperature, top_p, max_output_tokens, stop_sequences, seed,
                                         response_mime_type="application/json", response_json_schema,
                                         thinking_config=ThinkingConfig(thinking_budget, include_thoughts))
    tools:              [Tool(function_declarations=[FunctionDeclaration(name, description,
                                                                         parameters_json_schema)])]
    tool_config:        ToolConfig(function_calling_config=FunctionCallingConfig(mode=AUTO|NONE|ANY,
                                                                               allowed_function_names))

Reply: `candidates[0].content.parts[].text` (parts marked `thought` are kept
apart as reasoning; `function_call` parts are the model's tool calls, their
`thought_signature` kept to be sent back, as Gemini 3 requires), `finish_reason`
(a number newer than the SDK's enum is named, never an error), `usage_metadata`.
A prompt blocked by `prompt_feedback.block_reason`, or a candidate stopped for
SAFETY and the like with no text, raises `ContentBlockedError` instead of
returning an empty reply. Function calling:
https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/function-calling ;
structured output: https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output ;
thinking budgets (`GenerationOptions.reasoning` levels are 1,024 / 8,192 / 24,576
tokens, "off" is 0): https://cloud.google.com/vertex-ai/generative-ai/docs/thinking
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llmhub import (
    BaseProvider,
    ChatRequest,
    Embeddings,
    EnvVar,
    Reply,
    StreamChunk,
    Usage,
    with_retries,
)

from ._models import MODELS

if TYPE_CHECKING:
    from ._client import GeminiClient

__all__ = ["FALLBACK_MODELS", "GeminiProvider"]

_EITHER = ("GEMINI_PROJECT", "GEMINI_KEY")

#: Shown when the caller may not list Vertex AI's publisher models.
FALLBACK_MODELS = (
    "gemini-2.5-pro",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.0-flash",
)


class GeminiProvider(BaseProvider):
    """Gemini models on Vertex AI, through `PredictionServiceAsyncClient`."""

    name = "gemini"
    title = "Gemini"
    supports_files = True
    max_file_bytes = 15 * 1024 * 1024
    accepted_mime_prefixes = ("image/", "application/pdf", "audio/", "video/", "text/")
    docs_url = "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/inference"
    env_vars = (
        EnvVar(
            "GEMINI_PROJECT",
            "Google Cloud project id; without it, GEMINI_KEY alone uses Vertex AI express mode",
            aliases=("GOOGLE_CLOUD_PROJECT",),
        ),
        EnvVar(
            "GEMINI_LOCATION",
            "Vertex AI region",
            default="us-central1",
            aliases=("GOOGLE_CLOUD_LOCATION",),
        ),
        EnvVar(
            "GEMINI_KEY",
            "API key (alone: express mode); without it, Application Default Credentials",
            secret=True,
            aliases=("GOOGLE_API_KEY",),
        ),
        EnvVar("GEMINI_ENDPOINT", "API endpoint; host:port of a plain-text gRPC server for tests"),
    )
    model_prefixes = ("gemini-", "text-embedding-", "text-multilingual-embedding-")
    catalogue = MODELS
    # GenerationConfig.seed is an int32 (the SDK raises ValueError beyond it).
    seed_range = (-(2**31), 2**31 - 1)
    prices_provider_id = "google"
    otel_provider_name = "gcp.vertex_ai"

    #: The SDK client, made on first use.
    _client: GeminiClient | None = None

    @classmethod
    def missing_env(cls, env: Mapping[str, str] | None = None) -> list[str]:
        """A project or a key: either is enough (a key alone is express mode)."""
        source = os.environ if env is None else env
        project, key = (v.lookup(source)[0] for v in cls.env_vars if v.name in _EITHER)
        return [] if project or key else ["GEMINI_PROJECT or GEMINI_KEY"]

    @classmethod
    def mode(cls, env: Mapping[str, str] | None = None) -> str | None:
        source = os.environ if env is None else env
        values = {v.name: v.lookup(source)[0] for v in cls.env_vars}
        if values["GEMINI_PROJECT"]:
            how = "GEMINI_KEY" if values["GEMINI_KEY"] else "Application Default Credentials"
            return (
                f"Vertex AI, project {values['GEMINI_PROJECT']} in {values['GEMINI_LOCATION']}"
                f" ({how}; GEMINI_PROJECT is set)"
            )
        if values["GEMINI_KEY"]:
            return "Vertex AI express mode (GEMINI_KEY is set and GEMINI_PROJECT is not)"
        return None

    @property
    def express(self) -> bool:
        """Express mode: an API key and no project."""
        return not self.setting("GEMINI_PROJECT") and bool(self.setting("GEMINI_KEY"))

    @property
    def location(self) -> str:
        return self.setting("GEMINI_LOCATION") or "us-central1"

    def model_resource(self, model: str) -> str:
        """The full resource name Vertex AI expects for `model`."""
        if self.express:
            return f"publishers/google/models/{model}"
        project = self.setting("GEMINI_PROJECT")
        return f"projects/{project}/locations/{self.location}/publishers/google/models/{model}"

    def _sdk(self) -> GeminiClient:
        self.ensure_configured()
        if self._client is None:
            from ._client import GeminiClient  # imports google-cloud-aiplatform

            key = self.secret("GEMINI_KEY")
            self._client = GeminiClient(
                location="global" if self.express else self.location,
                endpoint=self.setting("GEMINI_ENDPOINT"),
                api_key=key.reveal() if key else None,
                timeout=self.timeouts.total,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def list_models(self) -> list[str]:
        """Gemini chat models from Model Garden; a documented short list when the
        caller may not list them (`listing_note` then says so)."""
        client = self._sdk()
        if self.express:
            self.listing_note = "express mode lists no models; showing the usual Gemini models"
            return list(FALLBACK_MODELS)
        models = await client.list_gemini_models()
        if models is None:
            self.listing_note = (
                "listing publisher models is not permitted here; showing the usual Gemini models"
            )
            return list(FALLBACK_MODELS)
        self.listing_note = None
        return models

    async def generate(self, request: ChatRequest) -> Reply:
        self.check_request(request)
        client = self._sdk()
        resource = self.model_resource(request.model)

        async def call() -> Any:
            return await client.generate(resource, request)

        response = await with_retries(self.retry_policy, call)
        return client.to_reply(response, request.model)

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """Vectors from `PredictionService.Predict`, a request per batch: one text for
        gemini-embedding-001 (the API's limit), up to 250 for the text-embedding models.
        https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings"""
        client = self._sdk()
        resource = self.model_resource(model)
        size = 1 if model.startswith("gemini-embedding") else 250
        vectors: list[list[float]] = []
        tokens = 0
        for batch in self.batches(texts, size):

            async def call(batch: list[str] = batch) -> tuple[list[list[float]], int]:
                return await client.embed(resource, batch, model)

            got, used = await with_retries(self.retry_policy, call)
            vectors += got
            tokens += used
        return Embeddings(
            vectors, model, self.name, Usage(prompt_tokens=tokens, total_tokens=tokens)
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """Chunks as Vertex AI streams them; retried only until the first arrives."""
        self.check_request(request)
        client = self._sdk()
        resource = self.model_resource(request.model)

        async def start() -> tuple[Any, Any]:
            return await client.start_stream(resource, request)

        responses, first = await with_retries(self.retry_policy, start)
        async for chunk in client.iter_chunks(responses, first, request.model):
            yield chunk
