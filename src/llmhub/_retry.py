"""When and how a failed provider call is tried again (tenacity).

Retried: errors marked `retryable` (429, 5xx, timeouts, refused or dropped
connections). Never retried: other 4xx, and a 429 whose `Retry-After` is longer
than `max_retry_after` (the caller is better told at once than kept waiting).
Waits: the provider's `Retry-After` when it gave one, else exponential backoff
with jitter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ._exceptions import LLMHubError, RateLimitError

__all__ = ["HttpTimeouts", "RetryPolicy", "with_retries"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts and waits (`HubSettings.retry_policy()` reads `LLMHUB_MAX_RETRIES`)."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, LLMHubError) or not exc.retryable:
            return False
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return exc.retry_after <= self.max_retry_after
        return True


@dataclass(frozen=True, slots=True)
class HttpTimeouts:
    """Seconds: to connect, between two reads, and for a whole call (streams included);
    and the most bytes one reply may take (`LLMHUB_MAX_REPLY_BYTES`)."""

    connect: float = 10.0
    read: float = 120.0
    total: float = 600.0
    max_reply_bytes: int = 16 * 1024 * 1024


async def with_retries(policy: RetryPolicy, call: Callable[[], Awaitable[T]]) -> T:
    """`await call()`, tried again per `policy`; the last error is raised as it was.

    The first attempt runs bare: building tenacity's machinery is measurable per call,
    paid on every request otherwise. Only after a retryable failure does tenacity
    take over, its first attempt re-raising that failure at once, so attempt
    numbers and waits are exactly tenacity's.
    """
    try:
        return await call()
    except Exception as exc:
        if policy.attempts <= 1 or not policy.should_retry(exc):
            raise
        first_failure = exc
    replayed = False

    async def attempt_call() -> T:
        nonlocal replayed
        if not replayed:
            replayed = True
            raise first_failure
        return await call()

    return await _retrying(policy, attempt_call)


async def _retrying(policy: RetryPolicy, call: Callable[[], Awaitable[T]]) -> T:
    import random

    from tenacity import (
        AsyncRetrying,
        RetryCallState,
        retry_if_exception,
        stop_after_attempt,
    )

    def wait(state: RetryCallState) -> float:
        """The provider's Retry-After, or exponential backoff with full jitter.

        Computed here rather than by `wait_exponential_jitter`, whose arguments
        changed within tenacity 9 (pip installs 9.1 beside google-cloud-aiplatform,
        uv.lock 9.2): the same formula on every version.
        """
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return float(exc.retry_after)
        exponential = policy.base_delay * 2.0 ** (state.attempt_number - 1)
        return min(policy.max_delay, exponential) + random.uniform(0, policy.base_delay)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait,
        retry=retry_if_exception(policy.should_retry),
        sleep=policy.sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover
