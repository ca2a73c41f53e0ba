"""HTTP failures of OpenAI-style APIs, as `LLMHubError`s.

Error bodies differ between providers, so they are read loosely:
`{"error": {"message": …}}`, `{"error": "…"}`, `{"message": …}`, `{"detail": …}`
(FastAPI's 422 list included), or plain text.
"""

from __future__ import annotations

import email.utils
import json
import math
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
    """The provider's own explanation, from whichever shape its error body has.

    Mistral's validation errors nest: `message` may be an object or a JSON
    string holding `{"detail": [{"loc": [...], "msg": ...}]}`; each becomes
    "field: msg" (the field from `loc`, without its leading "body").
    """
    try:
        data: Any = json.loads(body)
    except ValueError:
        return body.strip()[:_MAX_MESSAGE]
    return _explain(data).strip()[:_MAX_MESSAGE]


def _explain(found: Any, depth: int = 0) -> str:
    if isinstance(found, str):
        text = found.strip()
        if depth < 3 and text.startswith(("{", "[")):  # JSON inside a string (older API)
            try:
                return _explain(json.loads(text), depth + 1)
            except ValueError:
                pass
        return found
    if isinstance(found, dict) and depth < 3:
        error = found.get("error")
        for value in (
            error.get("message") or error if isinstance(error, dict) else error,
            found.get("message"),
            found.get("detail"),
        ):
            if value:
                return _explain(value, depth + 1)
    if isinstance(found, list):  # FastAPI validation errors: [{"loc": …, "msg": …}, …]
        return "; ".join(_validation_item(item) for item in found)
    return json.dumps(found, ensure_ascii=False)


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    message = str(item.get("msg", item))
    loc = [str(part) for part in item.get("loc") or []]
    if loc[:1] == ["body"]:
        loc = loc[1:]
    return f"{'.'.join(loc)}: {message}" if loc else message


def _names_an_unknown_model(body: str) -> bool:
    """Whether a 400 says the model does not exist (neither API answers 404 for it):
    Mistral's `"type": "invalid_model"`, DeepSeek's "Model Not Exist"."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    nested = data.get("error")
    error: dict[str, Any] = nested if isinstance(nested, dict) else data
    kind = str(error.get("type") or "").lower()
    message = str(error.get("message") or "").lower()
    return kind == "invalid_model" or message.startswith(("model not exist", "invalid model"))


#: The longest wait a `Retry-After` may ask for that is taken as said (a day); a
#: longer one is clamped to it.
MAX_RETRY_AFTER = 86_400.0


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (seconds, or an HTTP date), between 0 and a
    day; `None` for a value that is no wait at all (`inf`, `nan`, garbage)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


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
    if status == 400 and _names_an_unknown_model(body):
        return ModelNotFoundError(f"the provider does not know this model: {detail}", **kwargs)
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
