"""The event-stream reader, case by case from the HTML standard's interpretation rules,
and against arbitrary cuts of the byte stream (aiohttp hands over lines whole)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmhub.openai_compat import iter_sse_data


async def _lines(body: bytes) -> AsyncIterator[bytes]:
    """Lines as `aiohttp.StreamReader` yields them: split after each LF, endings kept."""
    for line in body.splitlines(keepends=True):
        yield line


async def _events(body: bytes) -> list[bytes]:
    return [data async for data in iter_sse_data(_lines(body))]


@pytest.mark.parametrize(
    ("body", "events"),
    [
        (b"data: one\n\ndata: two\n\n", [b"one", b"two"]),
        (b"data: crlf\r\n\r\n", [b"crlf"]),
        (b": keep-alive\n\n: keep-alive\n\ndata: after\n\n", [b"after"]),
        (b"data: first line\ndata: second\n\n", [b"first line\nsecond"]),
        (b"data:no space\n\n", [b"no space"]),
        (b"data:  two spaces\n\n", [b" two spaces"]),
        (b"event: message\nid: 7\nretry: 10\ndata: x\n\n", [b"x"]),
        (b"event: ping\n\n", []),  # no data: not dispatched
        (b"data:\n\n", [b""]),  # empty data is still an event
        (b"data: [DONE]\n", [b"[DONE]"]),  # cut off at the end: kept
        (b"\n\n\ndata: a\n\n\n", [b"a"]),
        ('data: {"t": "привет 👋"}\n\n'.encode(), ['{"t": "привет 👋"}'.encode()]),
    ],
)
async def test_events_follow_the_standard(body: bytes, events: list[bytes]) -> None:
    assert await _events(body) == events


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n")),
        max_size=8,
    )
)
async def test_every_data_line_arrives_whole_and_in_order(payloads: list[str]) -> None:
    body = b"".join(b": ping\n\ndata: " + p.encode() + b"\n\n" for p in payloads)
    assert await _events(body) == [p.encode() for p in payloads]
