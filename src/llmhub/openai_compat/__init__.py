"""The shared client of OpenAI-style chat APIs (Mistral, DeepSeek, and any other)."""

from __future__ import annotations

from ._errors import error_from_status, message_from_body, parse_retry_after
from ._provider import OpenAICompatibleProvider
from ._sse import MAX_SSE_LINE_BYTES, SSELineTooLongError, iter_sse_data
from ._wire import Dialect, build_body, parse_chunk, parse_reply, parse_usage

__all__ = [
    "MAX_SSE_LINE_BYTES",
    "Dialect",
    "OpenAICompatibleProvider",
    "SSELineTooLongError",
    "build_body",
    "error_from_status",
    "iter_sse_data",
    "message_from_body",
    "parse_chunk",
    "parse_reply",
    "parse_retry_after",
    "parse_usage",
]
