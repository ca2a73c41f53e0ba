"""Mistral AI for llmhub.

API reference: https://docs.mistral.ai/api/ (chat: `POST /v1/chat/completions`,
models: `GET /v1/models`; OpenAPI spec in mistralai/platform-docs-public).

Payload sent (OpenAI chat-completions dialect, see `llmhub.openai_compat`):
`{"model", "messages": [{"role", "content"}], "temperature", "top_p",
"max_tokens", "stop", "random_seed", "response_format": {"type": "json_object"},
"stream"}`. Mistral's own quirks: the seed is `random_seed`; `stream_options`
is not accepted (422) and usage arrives in the last chunk unasked; images go
as `{"type": "image_url", "image_url": {"url": "data:<mime>;base64,…"}}` parts
to vision models (Pixtral, Mistral Small/Medium 3.x).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from llmhub import BaseProvider, EnvVar, hookimpl
from llmhub.openai_compat import Dialect, OpenAICompatibleProvider

__all__ = ["MistralProvider", "llmhub_providers"]


class MistralProvider(OpenAICompatibleProvider):
    """Mistral's La Plateforme."""

    name = "mistral"
    supports_files = True
    max_file_bytes = 10 * 1024 * 1024
    accepted_mime_prefixes = ("image/",)
    docs_url = "https://docs.mistral.ai/api/"
    env_vars = (
        EnvVar("MISTRAL_API_KEY", "API key from console.mistral.ai", required=True, secret=True),
        EnvVar("MISTRAL_ENDPOINT", "API base URL", default="https://api.mistral.ai"),
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
    default_endpoint = "https://api.mistral.ai"
    api_key_var = "MISTRAL_API_KEY"
    endpoint_var = "MISTRAL_ENDPOINT"
    models_path = "/v1/models"
    chat_path = "/v1/chat/completions"
    dialect: ClassVar[Dialect] = Dialect(seed_field="random_seed", stream_usage=False)

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
