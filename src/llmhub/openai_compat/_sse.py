"""Server-sent events read straight from an aiohttp response.

Streams are the path every bot reply takes, so they skip httpx: through
httpx's text decoding and line splitting and httpx-sse's decoder, an event
cost about twice what this loop costs (`python3 dev.py bench streaming`; the
README's Performance section). It takes the bytes as they arrive
(`response.content.iter_any()`), one read per network chunk, and splits the
lines itself: aiohttp's line reader is Python code run once per line, twice
per event. The loop follows the event-stream interpretation of the HTML
standard
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
as far as these APIs use it:

- lines end in LF or CRLF (a bare CR, which no LLM API sends, is not a line end);
- a line starting with ":" is a comment (DeepSeek's `: keep-alive`);
- `data:` lines of one event are joined with LF, one space after the colon dropped;
- a blank line ends the event; an event with no data is not dispatched;
- `event`, `id` and `retry` fields are not used by these APIs and are ignored;
- an event cut off by the end of the stream is still dispatched (its data
  arrived; dropping it could lose the final `[DONE]` of a sloppy server).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

__all__ = ["MAX_SSE_LINE_BYTES", "SSELineTooLongError", "iter_sse_data"]

#: The longest line kept waiting for its end (a server that never ends a line
#: would otherwise fill the memory); far above any event these APIs send.
MAX_SSE_LINE_BYTES = 16 * 1024 * 1024


class SSELineTooLongError(ValueError):
    """A line of the stream grew past `MAX_SSE_LINE_BYTES` without ending."""

    def __init__(self) -> None:
        super().__init__(f"a line of the stream passed {MAX_SSE_LINE_BYTES} bytes without ending")


async def iter_sse_data(blocks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The data of each event in `blocks`: the stream's bytes cut anywhere (as
    `aiohttp.StreamReader.iter_any()` yields them; whole lines work too)."""
    data: bytes | None = None
    more: list[bytes] = []  # the rare second and later data lines of one event
    pending: list[bytes] = []  # pieces of a line whose end has not arrived yet
    pending_size = 0
    source = aiter(blocks)
    ended = False
    while not ended:
        try:
            block = await anext(source)
        except StopAsyncIteration:
            if not pending:
                break
            block, ended = b"\n", True  # the last line, cut off without its end, is kept
        if pending and b"\n" not in block:  # pieces are joined once, when the line ends
            pending.append(block)
            pending_size += len(block)
        else:
            if pending:
                pending.append(block)
                block = b"".join(pending)
                pending.clear()
            lines = block.split(b"\n")
            rest = lines.pop()
            pending_size = len(rest)
            if rest:
                pending.append(rest)
            for raw in lines:
                line = raw[:-1] if raw.endswith(b"\r") else raw
                if not line:
                    if data is not None:
                        yield b"\n".join([data, *more]) if more else data
                        data = None
                        more.clear()
                elif line.startswith(b"data:"):
                    value = line[6:] if line.startswith(b"data: ") else line[5:]
                    if data is None:
                        data = value
                    else:
                        more.append(value)
        if pending_size > MAX_SSE_LINE_BYTES:
            raise SSELineTooLongError
    if data is not None:
        yield b"\n".join([data, *more]) if more else data
