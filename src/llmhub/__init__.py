"""llmhub: one light async API over many LLM providers, every exchange logged.

    from llmhub import generate_reply, stream_reply

    text = await generate_reply(chat_id=42, prompt="Hello", model="mistral-small-latest")
    async for piece in stream_reply(42, "And in French?"):
        print(piece, end="")

Providers are plugins (`pip install "llmhub[mistral,gemini,dipseek]"`) found
through the `llmhub.providers` entry points. Importing this package loads no
provider SDK, no HTTP client and no settings library: they come on first use.
"""

from __future__ import annotations

from ._default import close_default_hub, generate_reply, get_default_hub, stream_reply
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentBlockedError,
    EmptyPromptError,
    InsufficientBalanceError,
    InvalidRequestError,
    LLMHubError,
    ModelNotFoundError,
    NotConfiguredError,
    PluginLoadError,
    PromptTooLongError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    StoreError,
    StreamInterruptedError,
    UnknownProviderError,
    UnsupportedInputError,
)
from ._hookspecs import ENTRY_POINT_GROUP, hookimpl
from ._provider import BaseProvider, EnvVar, Secret
from ._registry import ModelCatalog, PluginInfo, ProviderRegistry
from ._service import ChatId, Hub
from ._stream import ReplyStream
from ._types import (
    Attachment,
    ChatRequest,
    GenerationOptions,
    Message,
    Reply,
    Role,
    StreamChunk,
    Usage,
)

__version__ = "0.1.0"

__all__ = [
    "ENTRY_POINT_GROUP",
    "Attachment",
    "AuthenticationError",
    "BadRequestError",
    "BaseProvider",
    "ChatId",
    "ChatRequest",
    "ConfigurationError",
    "ContentBlockedError",
    "EmptyPromptError",
    "EnvVar",
    "GenerationOptions",
    "Hub",
    "InsufficientBalanceError",
    "InvalidRequestError",
    "LLMHubError",
    "Message",
    "ModelCatalog",
    "ModelNotFoundError",
    "NotConfiguredError",
    "PluginInfo",
    "PluginLoadError",
    "PromptTooLongError",
    "ProviderError",
    "ProviderRegistry",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "Reply",
    "ReplyStream",
    "Role",
    "Secret",
    "StoreError",
    "StreamChunk",
    "StreamInterruptedError",
    "UnknownProviderError",
    "UnsupportedInputError",
    "Usage",
    "__version__",
    "close_default_hub",
    "generate_reply",
    "get_default_hub",
    "hookimpl",
    "stream_reply",
]
