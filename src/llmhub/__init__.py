"""llmhub: one light async API over many LLM providers, every exchange logged.

    from llmhub import generate_reply, stream_reply

    text = await generate_reply(chat_id=42, prompt="Hello", model="mistral-small-latest")
    async for piece in stream_reply(42, "And in French?"):
        print(piece, end="")

Providers are plugins (`pip install "aiollmhub[mistral,gemini,dipseek]"`) found
through the `llmhub.providers` entry points. Importing this package loads no
provider SDK, no HTTP client and no settings library: they come on first use.
"""

from __future__ import annotations

import importlib.metadata as _metadata
import inspect as _inspect
import typing as _typing

from ._catalogue import (
    REASONING_LEVELS,
    InputKind,
    ModelInfo,
    ModelTable,
    Price,
    format_usd,
    model_entry,
)
from ._chat import Chat
from ._default import close_default_hub, embed, generate_reply, get_default_hub, stream_reply
from ._exceptions import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContentBlockedError,
    EmptyPromptError,
    InsufficientBalanceError,
    InvalidRequestError,
    InvalidTextError,
    LLMHubError,
    ModelNotFoundError,
    NotConfiguredError,
    OutputValidationError,
    PluginLoadError,
    PromptTooLongError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ReplyTooLongError,
    StoreError,
    StreamInterruptedError,
    UnknownProviderError,
    UnsupportedInputError,
    UnsupportedOptionError,
)
from ._hookspecs import ENTRY_POINT_GROUP, hookimpl
from ._hub import CallOptions, Hub, HubOpening
from ._prices import ModelPrice
from ._provider import BaseProvider, EnvVar, Secret
from ._registry import ModelCatalog, PluginInfo, ProviderRegistry
from ._retry import HttpTimeouts, RetryPolicy, with_retries
from ._stream import ReplyStream, StreamEvent
from ._tools import Tool
from ._types import (
    Attachment,
    Attempt,
    ChatId,
    ChatRequest,
    Embeddings,
    GenerationOptions,
    Message,
    OutputSpec,
    Prompt,
    Reasoning,
    ReasoningEvent,
    Reply,
    Role,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    ToolCallEvent,
    ToolChoice,
    ToolResult,
    ToolResultEvent,
    ToolSpec,
    ToolStep,
    Usage,
)

if _typing.TYPE_CHECKING:
    __version__: str
    from ._settings import HubSettings, env_names, load_environment, read_settings

#: Loaded on first access: they import pydantic, which `import llmhub` must not.
_LAZY = {
    "HubSettings": "_settings",
    "env_names": "_settings",
    "load_environment": "_settings",
    "read_settings": "_settings",
}


def __getattr__(name: str) -> _typing.Any:
    if name == "__version__":  # read from the installed metadata, on first use
        version = globals()["__version__"] = _metadata.version("aiollmhub")
        return version
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmhub' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ENTRY_POINT_GROUP",
    "REASONING_LEVELS",
    "Attachment",
    "Attempt",
    "AuthenticationError",
    "BadRequestError",
    "BaseProvider",
    "CallOptions",
    "Chat",
    "ChatId",
    "ChatRequest",
    "ConfigurationError",
    "ContentBlockedError",
    "Embeddings",
    "EmptyPromptError",
    "EnvVar",
    "GenerationOptions",
    "HttpTimeouts",
    "Hub",
    "HubOpening",
    "HubSettings",
    "InputKind",
    "InsufficientBalanceError",
    "InvalidRequestError",
    "InvalidTextError",
    "LLMHubError",
    "Message",
    "ModelCatalog",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelPrice",
    "ModelTable",
    "NotConfiguredError",
    "OutputSpec",
    "OutputValidationError",
    "PluginInfo",
    "PluginLoadError",
    "Price",
    "Prompt",
    "PromptTooLongError",
    "ProviderError",
    "ProviderRegistry",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "Reasoning",
    "ReasoningEvent",
    "Reply",
    "ReplyStream",
    "ReplyTooLongError",
    "RetryPolicy",
    "Role",
    "Secret",
    "StoreError",
    "StreamChunk",
    "StreamEvent",
    "StreamInterruptedError",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEvent",
    "ToolChoice",
    "ToolResult",
    "ToolResultEvent",
    "ToolSpec",
    "ToolStep",
    "UnknownProviderError",
    "UnsupportedInputError",
    "UnsupportedOptionError",
    "Usage",
    "__version__",
    "close_default_hub",
    "embed",
    "env_names",
    "format_usd",
    "generate_reply",
    "get_default_hub",
    "hookimpl",
    "load_environment",
    "model_entry",
    "read_settings",
    "stream_reply",
    "with_retries",
]


def _read_as_public() -> None:
    """Classes and functions read as what they are to users, `llmhub.Hub` and
    `llmhub.RateLimitError`, in reprs and tracebacks (as httpx does); pickling finds
    them here all the same. Not a class with annotations of its own (the dataclasses):
    `typing.get_type_hints` (pydantic, for one) reads them in the class's module; the
    errors' annotations name only builtins (a test reads them all)."""
    names = globals()
    for name in __all__:
        value = names.get(name)  # None: loaded on first use (`__getattr__`)
        if not str(getattr(value, "__module__", "")).startswith(f"{__name__}."):
            continue  # not ours (an alias of `str`), or already public
        error = isinstance(value, type) and issubclass(value, BaseException)
        annotated = isinstance(value, type) and "__annotations__" in vars(value)
        if _inspect.isfunction(value) or error or (isinstance(value, type) and not annotated):
            value.__module__ = __name__


_read_as_public()
