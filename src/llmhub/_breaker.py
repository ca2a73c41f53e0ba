"""A circuit breaker per provider: stop calling a provider that keeps failing.

After `failures` unavailability errors in a row (5xx, timeouts, refused
connections, long rate limits: what would make a call fall back), the provider
is skipped for `cooldown` seconds. Then one call, the probe, is let through:
if it is answered the provider is used again, if it fails the cool-down starts
over. Any answer from the provider counts as a success, a refusal of the
request's content included: the provider is reachable.

The state is per process (per `Hub`), as in resilience libraries such as
pybreaker: replicas learn that a provider is down each on their own, at the
price of `failures` calls each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CircuitBreaker"]


@dataclass(slots=True)
class _State:
    failures: int = 0
    open_until: float | None = None
    probing: bool = False


class CircuitBreaker:
    """`allow()` before a call, then `succeeded()`, `failed()` or `released()` after it.

    `failures=0` turns the breaker off. `clock` is for tests (monotonic seconds).
    """

    def __init__(
        self,
        failures: int = 5,
        cooldown: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._states: dict[str, _State] = {}

    def allow(self, provider: str) -> bool:
        """Whether to call `provider` now; `True` once after a cool-down (the probe)."""
        state = self._states.get(provider)
        if state is None or state.open_until is None:
            return True
        if state.probing or self._clock() < state.open_until:
            return False
        state.probing = True
        return True

    def retry_in(self, provider: str) -> float:
        """Seconds until `provider` is tried again (0 when it is not skipped)."""
        state = self._states.get(provider)
        if state is None or state.open_until is None:
            return 0.0
        return max(0.0, state.open_until - self._clock())

    def succeeded(self, provider: str) -> None:
        """The provider answered: close the circuit."""
        self._states.pop(provider, None)

    def failed(self, provider: str) -> None:
        """The provider was unavailable: count it, and open the circuit at the limit."""
        if self.failures <= 0:
            return
        state = self._states.setdefault(provider, _State())
        state.failures += 1
        if state.probing or state.failures >= self.failures:
            state.open_until = self._clock() + self.cooldown
            state.probing = False

    def released(self, provider: str) -> None:
        """The call ended without telling anything (cancelled): let another probe go."""
        state = self._states.get(provider)
        if state is not None:
            state.probing = False
