"""The "read the link" tool: what it reads, what it refuses (server-side request
forgery), its limits, and the bot using it, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from llmhub.testing.openai_server import Behaviour
from llmhub_bot._read_link import LinkReader, LinkRefusedError, allowed_networks, link_host
from llmhub_bot._tools import load_tools
from tests.bot.conftest import ADMIN, open_world, say

ARTICLE = """<!doctype html><html><head><title>Otters hold hands</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/shop">Shop</a></nav>
<article><h1>Otters hold hands</h1>
<p>Sea otters hold hands while they sleep so that they do not drift apart. The
behaviour is called rafting, and groups of otters doing it are called rafts.</p>
<p>A raft can hold more than a hundred otters, floating together on the kelp.</p>
</article>
<footer>Copyright 2026 Example Zoo. Cookie settings. Privacy policy.</footer>
</body></html>"""

LOCAL = allowed_networks("127.0.0.1")


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """A web server on 127.0.0.1 with an article, redirects, a large and a hanging page."""
    hang = asyncio.Event()

    async def article(_request: web.Request) -> web.Response:
        return web.Response(text=ARTICLE, content_type="text/html")

    async def plain(_request: web.Request) -> web.Response:
        return web.Response(text="just words", content_type="text/plain")

    async def binary(_request: web.Request) -> web.Response:
        return web.Response(body=b"\x00\x01", content_type="application/octet-stream")

    async def large(_request: web.Request) -> web.Response:
        return web.Response(text="word " * 100_000, content_type="text/plain")

    async def to_article(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/article")

    async def to_metadata(_request: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/latest/meta-data/")

    async def loop(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def hanging(_request: web.Request) -> web.Response:
        await hang.wait()
        return web.Response(text="late")

    async def missing(_request: web.Request) -> web.Response:
        return web.Response(status=404, text="no")

    app = web.Application()
    for path, handler in {
        "/article": article,
        "/plain": plain,
        "/binary": binary,
        "/large": large,
        "/to-article": to_article,
        "/to-metadata": to_metadata,
        "/loop": loop,
        "/hanging": hanging,
        "/missing": missing,
    }.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        hang.set()
        await runner.cleanup()


async def test_a_page_is_read_as_its_title_and_main_text(site: str) -> None:
    text = await LinkReader(LOCAL).read(f"{site}/article")
    assert text.startswith(f"Otters hold hands\n{site}/article\n\n")
    assert "rafting" in text
    assert "more than a hundred otters" in text
    assert "Cookie settings" not in text  # the page's furniture is left out


async def test_redirects_are_followed_and_each_one_checked(site: str) -> None:
    assert "rafting" in await LinkReader(LOCAL).read(f"{site}/to-article")
    # A redirect to the cloud metadata address is refused before any connection.
    with pytest.raises(LinkRefusedError, match=r"169\.254\.169\.254 is a private"):
        await LinkReader(LOCAL).read(f"{site}/to-metadata")
    with pytest.raises(LinkRefusedError, match="more than 5 redirects"):
        await LinkReader(LOCAL).read(f"{site}/loop")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/",  # loopback
        "http://localhost:9/",  # a name that resolves to loopback
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]:9/",
        "http://[::ffff:127.0.0.1]:9/",  # loopback dressed as IPv6
        "http://0.0.0.0:9/",
        "http://100.64.0.1/",  # shared address space
    ],
)
async def test_private_and_local_addresses_are_refused_after_resolution(url: str) -> None:
    with pytest.raises(LinkRefusedError, match="private, local or reserved"):
        await LinkReader().read(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x/", "x"])
async def test_only_http_and_https_are_read(url: str) -> None:
    with pytest.raises(LinkRefusedError, match=r"only http:// and https://"):
        await LinkReader(LOCAL).read(url)


async def test_the_size_and_time_limits_hold(site: str) -> None:
    text = await LinkReader(LOCAL, max_bytes=1000, max_chars=10_000).read(f"{site}/large")
    assert text.endswith("[the page is cut at 1,000 bytes]")
    assert len(text) < 1200
    clipped = await LinkReader(LOCAL, max_chars=50).read(f"{site}/large")
    assert clipped.endswith("[the text is cut at 50 characters]")
    with pytest.raises(LinkRefusedError, match=r"did not load within 0\.2 s"):
        await LinkReader(LOCAL, timeout=0.2).read(f"{site}/hanging")


async def test_plain_text_is_passed_and_other_files_and_errors_are_said(site: str) -> None:
    assert (await LinkReader(LOCAL).read(f"{site}/plain")).endswith("\n\njust words")
    with pytest.raises(LinkRefusedError, match=r"not a web page \(application/octet-stream\)"):
        await LinkReader(LOCAL).read(f"{site}/binary")
    with pytest.raises(LinkRefusedError, match="HTTP 404"):
        await LinkReader(LOCAL).read(f"{site}/missing")


def test_the_tool_is_off_unless_named() -> None:
    own = {"read_link": lambda: LinkReader().tool()}
    assert "read_link" not in {tool.name for tool in load_tools(None, own)}
    [tool] = load_tools("read_link", own)
    assert tool.name == "read_link"
    assert tool.spec.parameters["required"] == ["url"]
    assert link_host('{"url": "https://user@example.org:8443/a?b=c"}') == "example.org"
    assert link_host('{"url": "https://exa') is None  # arguments cut short


async def test_the_bot_reads_a_link_it_is_sent_and_shows_it_while_reading(
    tmp_path: Path, site: str
) -> None:
    url = f"{site}/article"
    async with open_world(
        tmp_path, bot_tools="read_link", bot_read_link_allow="127.0.0.1"
    ) as world:
        world.llm.then(
            Behaviour(tool_calls=[{"name": "read_link", "arguments": {"url": url}}]),
            Behaviour(text="They hold hands so as not to drift apart."),
        )
        [answer] = await say(world, ADMIN, f"why? {url}")
        assert answer == "They hold hands so as not to drift apart."
        drafts = [p["text"] for p in world.tg.sent("sendMessageDraft", ADMIN)]
        assert "🔗 reading 127.0.0.1…" in drafts
        # The page's text went to the model as the tool's answer.
        tool_message = world.llm.requests[-1]["messages"][-1]
        assert tool_message["role"] == "tool"
        assert "rafting" in tool_message["content"]
        [ru] = await say(world, ADMIN, "/help", language="ru")
        assert "ссылк" in ru  # /help says the bot reads links when the tool is on
