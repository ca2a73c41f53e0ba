"""The object a streaming call returns."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, cast

from ._types import ReasoningEvent, Reply, ToolCallEvent, ToolResultEvent

__all__ = ["ReplyStream", "StreamEvent", "StreamState"]

#: What `ReplyStream.events()` yields: text pieces, the model's thoughts and the tool
#: rounds as they go.
StreamEvent = str | ReasoningEvent | ToolCallEvent | ToolResultEvent


@dataclass(slots=True)
class StreamState:
    """Filled in by the producer as the stream goes."""

    request_id: str | None = None
    reply: Reply | None = None
    #: Whether the consumer asked for tool events (`events()`), not text alone.
    events: bool = False


class ReplyStream:
    """Text pieces of a reply as they are generated.

        async with hub.stream_reply(chat_id, "Hello") as stream:
            async for piece in stream:
                print(piece, end="")
        print(stream.reply.usage)

    Leaving the `async with` block (or calling `aclose()`) before the end stops
    the generation and logs what arrived as `cancelled`.
    """

    def __init__(self, events: _Events, state: StreamState) -> None:
        # Without `events()` the producer yields text only.
        self._events = cast(AsyncGenerator[str, None], events)
        self._all = cast(AsyncGenerator[StreamEvent, None], events)
        self._state = state
        self._source: ReplyStream | None = None

    @classmethod
    def deferred(cls, open_stream: Callable[[], Awaitable[ReplyStream]]) -> ReplyStream:
        """A stream returned at once whose source is opened on first iteration.

        The module-level `stream_reply` must return synchronously, yet its hub
        is opened asynchronously: it returns this and opens the hub's stream
        when the consumer starts reading. No async generator of its own stands
        between the consumer and the source (`_Deferred` is a plain iterator):
        at the loop's end only the source's generator is left to finalize, once.
        """
        state = StreamState()
        deferred = _Deferred(open_stream, state)
        stream = cls(deferred, state)
        deferred.owner = stream
        return stream

    def events(self) -> AsyncIterator[StreamEvent]:
        """The pieces with the tool rounds between them: `str` text pieces,
        `ReasoningEvent` as a reasoning model thinks, `ToolCallEvent` when the model
        asks for a tool (before it runs) and `ToolResultEvent` when it has run. Call it
        before reading the stream.

            async for event in stream.events():
                if isinstance(event, ReasoningEvent):
                    print("[thinking…]")
                elif isinstance(event, ToolCallEvent):
                    print(f"[calling {event.call.name}…]")
                elif isinstance(event, str):
                    print(event, end="")
        """
        self._state.events = True
        return self._all

    @property
    def request_id(self) -> str | None:
        """The logged request's id, once the request was sent."""
        if self._source is not None:
            return self._source.request_id
        return self._state.request_id

    @property
    def reply(self) -> Reply | None:
        """The whole reply, once the stream has ended normally."""
        if self._source is not None:
            return self._source.reply
        return self._state.reply

    def __aiter__(self) -> AsyncIterator[str]:
        # The pieces come straight from the producer: no frame of ours per piece.
        return self._events

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


class _Events(Protocol):
    def __aiter__(self) -> Any: ...
    async def __anext__(self) -> Any: ...
    async def aclose(self) -> None: ...


class _Deferred:
    """The pieces of a stream opened on the first read (see `ReplyStream.deferred`)."""

    def __init__(
        self, open_stream: Callable[[], Awaitable[ReplyStream]], state: StreamState
    ) -> None:
        self._open = open_stream
        self._state = state
        self._pieces: Any = None
        self._closed = False
        self.owner: ReplyStream | None = None

    def __aiter__(self) -> _Deferred:
        return self

    async def __anext__(self) -> StreamEvent:
        if self._pieces is None:
            if self._closed:
                raise StopAsyncIteration
            source = await self._open()
            if self.owner is not None:
                self.owner._source = source
            self._pieces = source.events() if self._state.events else aiter(source)
        piece: StreamEvent = await self._pieces.__anext__()
        return piece

    async def aclose(self) -> None:
        self._closed = True
        if self.owner is not None and self.owner._source is not None:
            await self.owner._source.aclose()
