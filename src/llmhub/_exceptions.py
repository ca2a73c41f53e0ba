"""Every error a caller of llmhub can get, in one tree.

    LLMHubError
    ├── ConfigurationError            bad or missing settings
    │   └── NotConfiguredError        a provider's credentials are missing (names the variable)
    ├── PluginLoadError               a provider plugin failed to import or register (reported, skipped)
    ├── StoreError                    the log store could not write or read
    ├── InvalidRequestError           refused before anything was sent
    │   ├── EmptyPromptError
    │   ├── PromptTooLongError
    │   ├── UnsupportedInputError     files for a provider without them, too large, wrong type
    │   ├── UnsupportedOptionError    an option the model cannot honour (out of range, a
    │   │                             reasoning level, tools, embeddings); also a BadRequestError
    │   ├── InvalidTextError          text that is not valid Unicode (a lone surrogate);
    │   │                             also a BadRequestError
    │   └── UnknownProviderError      no installed provider by that name
    ├── ModelNotFoundError            no provider claims the model, or the provider says it
    │                                 does not know it (404, or a 400 naming the model)
    └── ProviderError                 the provider was reached and the call failed
        ├── AuthenticationError       401/403: key wrong, expired or lacking permission
        ├── InsufficientBalanceError  402: the account is out of credit
        ├── RateLimitError            429; `retry_after` in seconds when the provider said
        ├── BadRequestError           400/422: the provider refused the request's content
        ├── ContentBlockedError       the provider's safety filter withheld the reply
        ├── OutputValidationError     a structured reply did not match its schema (`text` holds it)
        ├── ReplyTooLongError         a reply past LLMHUB_MAX_REPLY_BYTES (what came before is logged)
        ├── ProviderTimeoutError      no answer in time (also a TimeoutError)
        ├── ProviderUnavailableError  5xx, refused or dropped connections
        └── StreamInterruptedError    a stream broke or ended without its end marker

Every instance carries `provider`, `model` and, once the service logged the
request, `request_id`. Messages never contain secrets: providers build them from
status codes and the provider's own error text, never from request headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._catalogue import InputKind
    from ._types import Attempt

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ContentBlockedError",
    "EmptyPromptError",
    "InsufficientBalanceError",
    "InvalidRequestError",
    "InvalidTextError",
    "LLMHubError",
    "ModelNotFoundError",
    "NotConfiguredError",
    "OutputValidationError",
    "PluginLoadError",
    "PromptTooLongError",
    "ProviderError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RateLimitError",
    "ReplyTooLongError",
    "StoreError",
    "StreamInterruptedError",
    "UnknownProviderError",
    "UnsupportedInputError",
    "UnsupportedOptionError",
]


class LLMHubError(Exception):
    """Base of every error llmhub raises."""

    #: Whether sending the same request again may succeed (used by retries).
    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.request_id: str | None = None
        #: The models of the fallback chain that failed before this error.
        self.attempts: tuple[Attempt, ...] = ()

    def __str__(self) -> str:
        prefix = f"{self.provider}: " if self.provider else ""
        return f"{prefix}{self.message}"


class ConfigurationError(LLMHubError):
    """Settings are missing or invalid."""


class NotConfiguredError(ConfigurationError):
    """A provider is installed but the environment variables it needs are unset."""

    def __init__(self, provider: str, missing: list[str]) -> None:
        names = ", ".join(missing)
        super().__init__(f"not configured: set {names}", provider=provider)
        self.missing = missing


class PluginLoadError(LLMHubError):
    """A provider plugin could not be imported or registered; the others still work."""


class StoreError(LLMHubError):
    """The log store failed (disk full, file unreadable, database locked by another process)."""


class InvalidRequestError(LLMHubError):
    """The request was refused before anything was sent to a provider."""


class EmptyPromptError(InvalidRequestError):
    """The prompt is empty or only whitespace."""


class PromptTooLongError(InvalidRequestError):
    """The prompt is longer than the configured limit."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"prompt is {length} characters; the limit is {limit}")
        self.length = length
        self.limit = limit


class UnsupportedInputError(InvalidRequestError):
    """A file the model cannot read (its kind in `input_kind`), or of the wrong type or size.

    `capable_models` names the configured models that do read that kind
    ("provider/model"), and the message says so.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        input_kind: InputKind | None = None,
        capable_models: list[str] | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.input_kind = input_kind
        self.capable_models = capable_models or []

    def __str__(self) -> str:
        text = super().__str__()
        if not self.capable_models:
            return text
        shown = ", ".join(self.capable_models[:8])
        more = len(self.capable_models) - 8
        return f"{text}; models that do: {shown}" + (f" and {more} more" if more > 0 else "")


class UnknownProviderError(InvalidRequestError):
    """No installed provider has that name."""


class ModelNotFoundError(LLMHubError):
    """No provider claims the model (nothing was sent), or the provider answered that
    it does not know it (a 404, or a 400 that names the model)."""


class ProviderError(LLMHubError):
    """The provider was reached and the call failed."""


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401/403)."""


class InsufficientBalanceError(ProviderError):
    """The provider account has run out of credit (402)."""


class RateLimitError(ProviderError):
    """Too many requests (429). `retry_after` is the wait in seconds the provider asked for."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = 429,
    ) -> None:
        super().__init__(message, provider=provider, model=model, status_code=status_code)
        self.retry_after = retry_after


class BadRequestError(ProviderError):
    """The provider refused the request's content (400/422)."""


class ContentBlockedError(ProviderError):
    """The provider's safety filter withheld the reply."""


class OutputValidationError(ProviderError):
    """A structured reply did not match its schema, also after being asked once more.
    `text` holds the reply as it came (it is logged too); `errors` what did not match."""

    def __init__(
        self,
        message: str,
        *,
        text: str,
        errors: str = "",
        provider: str | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.text = text
        self.errors = errors


class ReplyTooLongError(ProviderError):
    """The reply passed `LLMHUB_MAX_REPLY_BYTES`: it was cut there, what came before is
    logged, and the stream raises this instead of growing without bound."""


class ProviderTimeoutError(ProviderError, TimeoutError):
    """The provider did not answer in time."""

    retryable = True


class ProviderUnavailableError(ProviderError):
    """The provider failed on its side (5xx) or could not be reached."""

    retryable = True


class StreamInterruptedError(ProviderError):
    """A stream broke off or ended without its end marker; what arrived was yielded first."""


class UnsupportedOptionError(InvalidRequestError, BadRequestError):
    """An option the model cannot honour: a value outside the provider's range (a
    temperature, a seed), a reasoning level it does not offer, tools on a model
    without them, a chat with an embedding model. The message names what the model
    does accept. Refused before anything is sent; also a `BadRequestError`, which is
    what the provider would have answered."""


class InvalidTextError(InvalidRequestError, BadRequestError):
    """Text that cannot be sent: not valid Unicode (a lone surrogate, as a broken
    decoder or a JSON `\\udXXX` escape leaves). Bad input, refused before anything is
    sent: never retried, never a fallback, never counted against a provider."""
