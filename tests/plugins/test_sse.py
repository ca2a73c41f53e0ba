"""The event-stream reader, case by case from the HTML standard's interpretation rules,
and against arbitrary cuts of the byte stream (it reads the bytes as they arrive)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmhub.openai_compat import MAX_SSE_LINE_BYTES, SSELineTooLongError, iter_sse_data


async def _blocks(body: bytes, cuts: list[int] | None = None) -> AsyncIterator[bytes]:
    """`body` cut at `cuts` (default: after every byte), as a network delivers it."""
    points = sorted(set(cuts)) if cuts is not None else list(range(1, len(body)))
    start = 0
    for point in [*points, len(body)]:
        if start < point <= len(body):
            yield body[start:point]
            start = point


async def _events(body: bytes, cuts: list[int] | None = None) -> list[bytes]:
    return [data async for data in iter_sse_data(_blocks(body, cuts))]


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
    assert await _events(body) == events  # a byte at a time
    assert await _events(body, []) == events  # all at once


@given(st.data())
async def test_any_cut_of_the_bytes_gives_the_same_events(data: st.DataObject) -> None:
    payloads = data.draw(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"])), max_size=6)
    )
    ending = data.draw(st.sampled_from([b"\n", b"\r\n"]))
    body = b"".join(
        b": ping"
        + ending
        + b"data: "
        + p.replace("\r", "").replace("\n", "").encode()
        + ending
        + ending
        for p in payloads
    )
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=len(body) + 1))
    expected = [p.replace("\r", "").replace("\n", "").encode() for p in payloads]
    assert await _events(body, cuts) == expected


async def test_a_line_that_never_ends_is_refused_not_kept() -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b"data: "
        for _ in range(MAX_SSE_LINE_BYTES // 65_536 + 1):
            yield b"x" * 65_536

    with pytest.raises(SSELineTooLongError):
        [data async for data in iter_sse_data(endless())]


@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n")),
        max_size=8,
    )
)
async def test_every_data_line_arrives_whole_and_in_order(payloads: list[str]) -> None:
    body = b"".join(b": ping\n\ndata: " + p.encode() + b"\n\n" for p in payloads)
    assert await _events(body) == [p.encode() for p in payloads]


async def test_a_long_line_in_many_small_blocks_arrives_whole() -> None:
    text = b"y" * 1_000_000
    body = b"data: " + text + b"\n\ndata: next\n\n"
    cuts = list(range(1_000, len(body), 1_000))
    assert await _events(body, cuts) == [text, b"next"]
