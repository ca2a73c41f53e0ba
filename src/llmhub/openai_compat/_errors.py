"""HTTP failures of OpenAI-style APIs, as `LLMHubError`s.

Error bodies differ between providers, so they are read loosely:
`{"error": {"message": …}}`, `{"error": "…"}`, `{"message": …}`, `{"detail": …}`
(FastAPI's 422 list included), or plain text.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

from .._exceptions import (
    AuthenticationError,
    BadRequestError,
    InsufficientBalanceError,
    LLMHubError,
    ModelNotFoundError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)

__all__ = ["error_from_status", "message_from_body", "parse_retry_after", "scrub"]

_MAX_MESSAGE = 500


def scrub(text: str, secret: str | None) -> str:
    """`text` with every occurrence of `secret` masked (some APIs echo the key back)."""
    if secret and secret in text:
        text = text.replace(secret, "***")
    return text


def message_from_body(body: str) -> str:
    """The provider's own explanation, from whichever shape its error body has."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.strip()[:_MAX_MESSAGE]
    found: Any = data
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            found = error.get("message") or error
        elif error:
            found = error
        elif data.get("message"):
            found = data["message"]
        elif data.get("detail"):
            found = data["detail"]
    if isinstance(found, list):  # FastAPI validation errors: [{"loc": …, "msg": …}, …]
        found = "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in found
        )
    text = found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)
    return text.strip()[:_MAX_MESSAGE]


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (seconds, or an HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_from_status(
    status: int,
    body: str,
    headers: Mapping[str, str],
    *,
    provider: str,
    model: str | None,
    secret: str | None,
) -> LLMHubError:
    """The `LLMHubError` for an HTTP error status."""
    detail = scrub(message_from_body(body), secret) or f"HTTP {status}"
    kwargs: dict[str, Any] = {"provider": provider, "model": model, "status_code": status}
    if status in (400, 422):
        return BadRequestError(f"request refused ({status}): {detail}", **kwargs)
    if status in (401, 403):
        return AuthenticationError(f"credentials refused ({status}): {detail}", **kwargs)
    if status == 402:
        return InsufficientBalanceError(f"insufficient balance: {detail}", **kwargs)
    if status == 404:
        return ModelNotFoundError(f"model or endpoint not found: {detail}", **kwargs)
    if status == 429:
        retry_after = parse_retry_after(headers)
        hint = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimitError(f"rate limited: {detail}{hint}", retry_after=retry_after, **kwargs)
    if status >= 500:
        return ProviderUnavailableError(f"provider error ({status}): {detail}", **kwargs)
    return ProviderError(f"unexpected status {status}: {detail}", **kwargs)
