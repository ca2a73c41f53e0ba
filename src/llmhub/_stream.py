"""The object a streaming call returns."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from types import TracebackType

from ._types import Reply

__all__ = ["ReplyStream", "StreamState"]


@dataclass(slots=True)
class StreamState:
    """Filled in by the producer as the stream goes."""

    request_id: str | None = None
    reply: Reply | None = None


class ReplyStream:
    """Text pieces of a reply as they are generated.

        async with hub.stream_reply(chat_id, "Hello") as stream:
            async for piece in stream:
                print(piece, end="")
        print(stream.reply.usage)

    Leaving the `async with` block (or calling `aclose()`) before the end stops
    the generation and logs what arrived as `cancelled`.
    """

    def __init__(self, events: AsyncGenerator[str, None], state: StreamState) -> None:
        self._events = events
        self._state = state

    @property
    def request_id(self) -> str | None:
        """The logged request's id, once the request was sent."""
        return self._state.request_id

    @property
    def reply(self) -> Reply | None:
        """The whole reply, once the stream has ended normally."""
        return self._state.reply

    def __aiter__(self) -> ReplyStream:
        return self

    async def __anext__(self) -> str:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the generation; what arrived so far is logged."""
        await self._events.aclose()

    async def __aenter__(self) -> ReplyStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
