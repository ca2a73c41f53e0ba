"""Ollama for llmhub: the models an Ollama server runs, on its OpenAI-compatible API.

API reference: https://github.com/ollama/ollama/blob/main/docs/openai.md
(chat: `POST /v1/chat/completions`, models: `GET /v1/models`).

Payload sent (the OpenAI chat-completions dialect, see `llmhub.openai_compat`):
`{"model", "messages": [{"role", "content"}], "temperature", "top_p",
"max_tokens", "stop", "seed", "tools", "tool_choice", "stream",
"stream_options": {"include_usage": true}}`. Ollama needs no key: none is sent.
Its model names ("llama3.2", "qwen2.5:7b") say nothing of whose they are, so
they are named with the provider: `ollama/llama3.2`.
"""

from __future__ import annotations

from llmhub import BaseProvider, EnvVar, hookimpl
from llmhub.openai_compat import OpenAICompatibleProvider

__all__ = ["OllamaProvider", "llmhub_providers"]


class OllamaProvider(OpenAICompatibleProvider):
    """An Ollama server (local by default)."""

    name = "ollama"
    docs_url = "https://github.com/ollama/ollama/blob/main/docs/openai.md"
    env_vars = (
        EnvVar(
            "OLLAMA_ENDPOINT", "the server's OpenAI-style API", default="http://127.0.0.1:11434/v1"
        ),
        EnvVar("OLLAMA_API_KEY", "a key, if a proxy in front asks for one", secret=True),
    )
    model_prefixes = ()  # only `ollama/<model>`
    default_endpoint = "http://127.0.0.1:11434/v1"
    api_key_var = "OLLAMA_API_KEY"
    endpoint_var = "OLLAMA_ENDPOINT"
    models_path = "/models"
    chat_path = "/chat/completions"


@hookimpl
def llmhub_providers() -> list[type[BaseProvider]]:
    """The providers of this plugin."""
    return [OllamaProvider]
