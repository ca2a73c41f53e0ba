"""DeepSeek for llmhub, named "dipseek" (the README says why).

API reference: https://api-docs.deepseek.com/ (chat: `POST /chat/completions`,
models: `GET /models`; the API is rooted at the bare host, `/v1` is optional).

Payload sent (OpenAI chat-completions dialect, see `llmhub.openai_compat`):
`{"model", "messages": [{"role", "content", "tool_calls"?, "reasoning_content"?,
"tool_call_id"?}], "temperature", "top_p", "max_tokens", "stop", "tools",
"tool_choice", "response_format": {"type": "json_object"}, "thinking": {"type":
"enabled" | "disabled"}, "reasoning_effort", "stream", "stream_options":
{"include_usage": true}}`. DeepSeek's own quirks: no seed parameter (the option
is not sent); `: keep-alive` SSE comments while a request is queued;
`reasoning_content` beside `content` in thinking mode (kept apart from the
answer, and sent back on the assistant turns of a tool loop, which the thinking
mode requires: https://api-docs.deepseek.com/guides/thinking_mode); usage
reports `prompt_cache_hit_tokens`; 402 means the balance is exhausted. The API
takes text only. Structured replies: DeepSeek has JSON mode only
(https://api-docs.deepseek.com/guides/json_mode), so the schema goes in a
system message and the reply is checked (and asked for once more) by the hub.
Tools: https://api-docs.deepseek.com/guides/function_calling
"""

from __future__ import annotations

from typing import ClassVar

from llmhub import BaseProvider, EnvVar, hookimpl
from llmhub.openai_compat import Dialect, OpenAICompatibleProvider

from ._models import MODELS

__all__ = ["DipseekProvider", "llmhub_providers"]

#: The public API, unless `DIPSEEK_ENDPOINT` says otherwise.
ENDPOINT = "https://api.deepseek.com"


class DipseekProvider(OpenAICompatibleProvider):
    """The DeepSeek API."""

    name = "dipseek"
    title = "DeepSeek"
    supports_files = False
    docs_url = "https://api-docs.deepseek.com/"
    env_vars = (
        EnvVar(
            "DIPSEEK_API_KEY",
            "API key from platform.deepseek.com",
            required=True,
            secret=True,
            aliases=("DEEPSEEK_API_KEY",),
        ),
        EnvVar("DIPSEEK_ENDPOINT", "API base URL", default=ENDPOINT),
    )
    model_prefixes = ("deepseek-",)
    default_endpoint = ENDPOINT
    api_key_var = "DIPSEEK_API_KEY"
    endpoint_var = "DIPSEEK_ENDPOINT"
    models_path = "/models"
    chat_path = "/chat/completions"
    dialect: ClassVar[Dialect] = Dialect(
        seed_field=None,
        stream_usage=True,
        reasoning="thinking",
        structured="instructions",
        reasoning_in_tool_turns=True,
    )
    catalogue = MODELS
    prices_provider_id = "deepseek"
    otel_provider_name = "deepseek"


@hookimpl
def llmhub_providers() -> list[type[BaseProvider]]:
    """The providers of this plugin."""
    return [DipseekProvider]
