"""Server-sent events read straight from an aiohttp response.

Streams are the path every bot reply takes, so they skip httpx: through
httpx's text decoding and line splitting and httpx-sse's decoder, an event
cost about twice what aiohttp's own line reader (in C) and this loop cost
(`python3 dev.py bench streaming`; the README's Performance section). The
loop follows the event-stream interpretation of the HTML standard
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

__all__ = ["iter_sse_data"]


async def iter_sse_data(lines: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The data of each event in `lines` (as `aiohttp.StreamReader` yields them)."""
    data: bytes | None = None
    more: list[bytes] = []  # the rare second and later data lines of one event
    async for raw in lines:
        line = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if raw.endswith(b"\n") else raw
        if not line:
            if data is not None:
                yield b"\n".join([data, *more]) if more else data
                data = None
                more.clear()
            continue
        if line.startswith(b"data:"):
            value = line[6:] if line.startswith(b"data: ") else line[5:]
            if data is None:
                data = value
            else:
                more.append(value)
    if data is not None:
        yield b"\n".join([data, *more]) if more else data
