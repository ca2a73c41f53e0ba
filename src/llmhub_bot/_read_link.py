"""The "read the link" tool: the readable text of a web page the user sent, for the
model to answer from. Off by default (`BOT_TOOLS=read_link` turns it on).

A model chooses the address, and a user chooses what the model reads: the fetch
must not become a way into the bot's own network (server-side request forgery).
So, for every request, the first and each redirect's:

- only `http://` and `https://`;
- the host is resolved first, and every address it resolves to must be a public
  one (no loopback, private, link-local, shared, multicast or reserved address,
  IPv4-mapped ones included) unless it is in `BOT_READ_LINK_ALLOW` (tests allow
  127.0.0.1); the connection then goes to that checked address (the `Host` header
  and TLS server name stay the site's), so a second DNS answer cannot swap it;
- redirects are followed by hand, each one checked again, at most 5;
- at most `MAX_BYTES` are read and the whole fetch has `TIMEOUT` seconds.

The page's main text is extracted by trafilatura (the `links` extra), which drops
menus, footers and ads; plain-text answers are passed as they are.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from llmhub import Tool

__all__ = ["READ_LINK", "LinkReader", "LinkRefusedError", "allowed_networks", "link_host"]

READ_LINK = "read_link"
#: Bytes of a page read at most (the rest is not fetched).
MAX_BYTES = 2 * 1024 * 1024
#: Seconds the whole fetch may take, redirects included.
TIMEOUT = 15.0
#: Characters of the page's text given to the model at most.
MAX_CHARS = 20_000
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML = ("text/html", "application/xhtml+xml")
_TEXT = ("text/", "application/json", "application/xml")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class LinkRefusedError(ValueError):
    """A link the tool will not read, or could not; its text goes to the model."""


def allowed_networks(setting: str | None) -> tuple[Network, ...]:
    """`BOT_READ_LINK_ALLOW`: addresses and networks read although they are not
    public ("127.0.0.1", "10.0.0.0/8"), comma-separated."""
    parts = [part.strip() for part in (setting or "").split(",") if part.strip()]
    return tuple(ipaddress.ip_network(part, strict=False) for part in parts)


def link_host(arguments: str) -> str | None:
    """The host of the `url` argument of a read_link call's JSON, if it has one."""
    try:
        url = json.loads(arguments or "{}").get("url")
    except (ValueError, AttributeError):
        return None
    return urlsplit(url).hostname if isinstance(url, str) else None


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class _Target:
    host: str
    address: Address


@dataclass(frozen=True)
class LinkReader:
    """Reads links as the module says; `tool()` offers it to the models."""

    allowed: tuple[Network, ...] = ()
    max_bytes: int = MAX_BYTES
    timeout: float = TIMEOUT
    max_chars: int = MAX_CHARS

    def tool(self) -> Tool:
        async def read_link(url: str) -> str:
            """Read a web page the user sent (http or https) and return its title
            and main text. Use it when the user shares a link and asks about it.

            Args:
                url: The page's full address, as the user wrote it.
            """
            return await self.read(url)

        return Tool.from_function(read_link, name=READ_LINK)

    async def read(self, url: str) -> str:
        """The page's title, address and readable text; `LinkRefusedError` saying why not."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read(url)
        except TimeoutError:
            raise LinkRefusedError(f"the page did not load within {self.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise LinkRefusedError(
                f"the page could not be fetched ({type(exc).__name__})"
            ) from None

    async def _read(self, url: str) -> str:
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                target = await self._checked(url)
                request = client.build_request(
                    "GET",
                    httpx.URL(url).copy_with(host=str(target.address)),
                    headers={"Host": _host_header(url), "User-Agent": "llmhub-bot read_link"},
                    extensions={"sni_hostname": target.host},
                )
                response = await client.send(request, stream=True)
                try:
                    if response.status_code in _REDIRECTS and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code >= 400:
                        raise LinkRefusedError(f"the site answered HTTP {response.status_code}")
                    body, cut = await self._body(response)
                finally:
                    await response.aclose()
                kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return await self._text(url, kind, body, response.encoding or "utf-8", cut)
        raise LinkRefusedError(f"more than {MAX_REDIRECTS} redirects")

    async def _checked(self, url: str) -> _Target:
        """Where `url` may be fetched from: a checked address of its host."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise LinkRefusedError("only http:// and https:// links are read")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, ValueError):
            raise LinkRefusedError(f"{host} could not be resolved") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
        refused = [a for a in addresses if not self._may_reach(a)]
        if not addresses or refused:
            raise LinkRefusedError(
                f"{host} is a private, local or reserved address; such links are not read"
            )
        return _Target(host, addresses[0])

    def _may_reach(self, address: Address) -> bool:
        return _public(address) or any(address in network for network in self.allowed)

    async def _body(self, response: httpx.Response) -> tuple[bytes, bool]:
        """At most `max_bytes` of the body, and whether there was more."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(chunks)[: self.max_bytes], True
        return b"".join(chunks), False

    async def _text(self, url: str, kind: str, body: bytes, encoding: str, cut: bool) -> str:
        if kind in _HTML or (not kind and body.lstrip()[:1] == b"<"):
            title, text = await asyncio.to_thread(_extract, body, url)
        elif kind.startswith(_TEXT):
            title, text = None, body.decode(encoding, errors="replace")
        else:
            raise LinkRefusedError(f"not a web page ({kind or 'unknown type'})")
        if not text.strip():
            raise LinkRefusedError("the page holds no readable text")
        notes = []
        if len(text) > self.max_chars:
            text = text[: self.max_chars]
            notes.append(f"[the text is cut at {self.max_chars:,} characters]")
        elif cut:
            notes.append(f"[the page is cut at {self.max_bytes:,} bytes]")
        head = [line for line in (title, url) if line]
        return "\n".join([*head, "", text, *notes])


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2]


def _extract(body: bytes, url: str) -> tuple[str | None, str]:
    """(title, main text) of an HTML page, by trafilatura."""
    import trafilatura  # the `links` extra; loaded on the first link only

    text = trafilatura.extract(body, url=url, include_comments=False, favor_recall=True) or ""
    metadata = trafilatura.extract_metadata(body)
    return (metadata.title if metadata is not None else None), text
