"""Mistral AI for llmhub.

API reference: https://docs.mistral.ai/api/ (chat: `POST /v1/chat/completions`,
models: `GET /v1/models`; OpenAPI spec in mistralai/platform-docs-public).

Payload sent (OpenAI chat-completions dialect, see `llmhub.openai_compat`):
`{"model", "messages": [{"role", "content", "tool_calls"?, "tool_call_id"?}],
"temperature", "top_p", "max_tokens", "stop", "random_seed", "tools", "tool_choice",
"response_format": {"type": "json_object"} | {"type": "json_schema", "json_schema":
{"name", "schema", "strict": true}}, "reasoning_effort": "none" | "high", "stream"}`.
Mistral's own quirks: the seed is `random_seed`; `stream_options` is not
accepted (422) and usage arrives in the last chunk unasked; tool call ids must
be 9 letters and digits (others are rewritten, stably); reasoning models answer
with `content` as a list of `thinking` and `text` parts.
Function calling: https://docs.mistral.ai/capabilities/function_calling/ ;
structured output: https://docs.mistral.ai/capabilities/structured-output/custom_structured_output/ ;
reasoning: https://docs.mistral.ai/capabilities/reasoning/ ;
embeddings (`POST /v1/embeddings`): https://docs.mistral.ai/capabilities/embeddings/

Files, as content parts beside the text:

- images: `{"type": "image_url", "image_url": {"url": "data:<mime>;base64,…"}}`,
  to the vision models (Mistral Small/Medium 3.x, Pixtral);
- PDFs: `{"type": "document_url", "document_url": <signed URL>, "document_name"}`.
  A local document reaches chat by URL only: it is uploaded first
  (`POST /v1/files`, multipart `file` and `purpose=ocr`), then its signed URL
  fetched (`GET /v1/files/{id}/url?expiry=24`)
  (https://docs.mistral.ai/capabilities/OCR/document_understanding);
- audio: `{"type": "input_audio", "input_audio": "<base64>"}`, to the Voxtral
  models only (https://docs.mistral.ai/capabilities/audio_transcription).

Which model reads which kind, and what each costs, is in `_models.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from llmhub import (
    Attachment,
    BaseProvider,
    ChatRequest,
    EnvVar,
    hookimpl,
)
from llmhub.openai_compat import Dialect, OpenAICompatibleProvider

from ._models import MODELS

__all__ = ["MistralProvider", "llmhub_providers"]

#: The public API, unless `MISTRAL_ENDPOINT` says otherwise.
ENDPOINT = "https://api.mistral.ai"


class MistralProvider(OpenAICompatibleProvider):
    """Mistral's La Plateforme."""

    name = "mistral"
    title = "Mistral"
    supports_files = True
    max_file_bytes = 10 * 1024 * 1024
    accepted_mime_prefixes = ("image/", "application/pdf", "audio/")
    docs_url = "https://docs.mistral.ai/api/"
    env_vars = (
        EnvVar("MISTRAL_API_KEY", "API key from console.mistral.ai", required=True, secret=True),
        EnvVar("MISTRAL_ENDPOINT", "API base URL", default=ENDPOINT),
    )
    model_prefixes = (
        "mistral-",
        "open-mistral",
        "open-mixtral",
        "codestral",
        "pixtral",
        "ministral",
        "magistral",
        "devstral",
        "voxtral",
    )
    default_endpoint = ENDPOINT
    api_key_var = "MISTRAL_API_KEY"
    endpoint_var = "MISTRAL_ENDPOINT"
    models_path = "/v1/models"
    chat_path = "/v1/chat/completions"
    dialect: ClassVar[Dialect] = Dialect(
        seed_field="random_seed", stream_usage=False, reasoning="effort", short_tool_ids=True
    )
    catalogue = MODELS
    # https://docs.mistral.ai/api/ : temperature 0 to 1.5, random_seed a non-negative integer.
    temperature_range = (0.0, 1.5)
    seed_range = (0, 2**63 - 1)
    prices_provider_id = "mistral"
    otel_provider_name = "mistral_ai"
    embeddings_path = "/v1/embeddings"
    # The API refuses over 256 inputs ("Too many inputs in request") and about 16,000
    # tokens a request; 40,000 characters keep well under the tokens.
    embed_batch_items = 256
    embed_batch_chars = 40_000

    async def prepare(self, request: ChatRequest) -> ChatRequest:
        """Upload each PDF and send it by its signed URL (chat takes documents by URL)."""
        if not any(
            a.mime_type == "application/pdf" and a.url is None
            for m in request.messages
            for a in m.attachments
        ):
            return request
        messages = []
        for message in request.messages:
            attachments: list[Attachment] = []
            for attachment in message.attachments:
                if attachment.mime_type == "application/pdf" and attachment.url is None:
                    attachment = replace(
                        attachment, url=await self._upload(attachment, request.model)
                    )
                attachments.append(attachment)
            messages.append(replace(message, attachments=tuple(attachments)))
        return replace(request, messages=tuple(messages))

    async def _upload(self, attachment: Attachment, model: str) -> str:
        client = self._http()
        files = {"file": (attachment.name or "document.pdf", attachment.data, attachment.mime_type)}
        try:
            response = await client.post(
                f"{self.endpoint}/v1/files", files=files, data={"purpose": "ocr"}
            )
            raw = await response.aread()
        except Exception as exc:
            raise self._transport_error(exc, model=model) from exc
        uploaded = self._json_or_error(response, raw, model=model)
        try:
            response = await client.get(
                f"{self.endpoint}/v1/files/{uploaded['id']}/url", params={"expiry": 24}
            )
            raw = await response.aread()
        except Exception as exc:
            raise self._transport_error(exc, model=model) from exc
        return str(self._json_or_error(response, raw, model=model)["url"])

    def lists_for_chat(self, item: Mapping[str, Any]) -> bool:
        """`/v1/models` also lists embedding, moderation and OCR models: keep those
        whose `capabilities` say they chat (`completion_chat`)."""
        capabilities = item.get("capabilities")
        if not isinstance(capabilities, Mapping):
            return True  # an entry without capabilities: keep it rather than guess
        return bool(capabilities.get("completion_chat", True))


@hookimpl
def llmhub_providers() -> list[type[BaseProvider]]:
    """The providers of this plugin."""
    return [MistralProvider]
