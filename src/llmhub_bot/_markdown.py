"""The model's Markdown as Telegram text and entities, with every character kept.

telegramify-markdown converts Markdown to plain text plus `MessageEntity`s.
Two CommonMark readings hide text a model means literally, so they are
escaped before the conversion:

- raw HTML, inline (`use <div>`, `List<int>`, `x <br> y`) and block: the
  converter drops it, and with it whatever a model wrote about HTML, XML,
  generics or templates;
- entity references (`&amp;`, `&copy;`): they would show as `&` and `©`.

Only Markdown syntax turns into formatting; everything else is shown as
written. Splitting keeps each part within Telegram's limits: 4,096 UTF-16
units and 100 entities, cut between characters, entities clipped at the cut.
"""

from __future__ import annotations

import logging
from itertools import pairwise

import pyromark
from telegramify_markdown import MessageEntity, convert, split_entities, utf16_len

__all__ = ["MAX_ENTITIES", "MAX_MESSAGE", "keep_literal", "to_telegram"]

log = logging.getLogger("llmhub_bot.delivery")

MAX_MESSAGE = 4096
MAX_ENTITIES = 100

# The options telegramify-markdown parses with (tables, strikethrough, task lists, math).
_OPTIONS = (
    pyromark.Options.ENABLE_TABLES
    | pyromark.Options.ENABLE_STRIKETHROUGH
    | pyromark.Options.ENABLE_TASKLISTS
    | pyromark.Options.ENABLE_MATH
)
_MAX_PASSES = 16


def keep_literal(markdown: str) -> str:
    """`markdown` with raw HTML and entity references escaped, so they show as written."""
    text = markdown
    for _ in range(_MAX_PASSES):
        offsets = _hidden(text)
        if not offsets:
            break
        text = _escape_at(text, offsets)
    return text


def _hidden(text: str) -> list[int]:
    """UTF-8 byte offsets of the characters that start text CommonMark would hide."""
    if "<" not in text and "&" not in text:
        return []
    source = text.encode("utf-8")
    offsets: set[int] = set()
    for payload, span in pyromark.events_with_range(text, options=_OPTIONS):
        start, end = span["start"], span["end"]
        if not isinstance(payload, dict):
            continue
        if "InlineHtml" in payload or payload.get("Start") == "HtmlBlock":
            at = source.find(b"<", start, end)
            if at >= 0:
                offsets.add(at)
        elif (
            "Text" in payload
            and source[start : start + 1] == b"&"
            and payload["Text"].encode("utf-8") != source[start:end]  # an entity, decoded
        ):
            offsets.add(start)
    return sorted(offsets)


def _escape_at(text: str, offsets: list[int]) -> str:
    """A backslash before each UTF-8 byte offset of `text`."""
    source = text.encode("utf-8")
    bounds = [0, *offsets, len(source)]
    return b"\\".join(source[a:b] for a, b in pairwise(bounds)).decode("utf-8")


def to_telegram(markdown: str) -> list[tuple[str, list[MessageEntity]]]:
    """Telegram messages for `markdown`: (text, entities), each within the limits."""
    try:
        text, entities = convert(keep_literal(markdown))
    except Exception:  # a converter bug must not lose the reply: send it as it came
        log.exception("markdown conversion failed; sending plain text")
        text, entities = markdown, []
    parts: list[tuple[str, list[MessageEntity]]] = []
    for part, part_entities in split_entities(text, entities, MAX_MESSAGE):
        parts += _within_entity_limit(part, part_entities)
    return parts


def _within_entity_limit(
    text: str, entities: list[MessageEntity]
) -> list[tuple[str, list[MessageEntity]]]:
    """Cut a part carrying more than `MAX_ENTITIES` entities before the first one
    over the limit (at the line's start if it has one); Telegram would drop them."""
    parts = []
    while len(entities) > MAX_ENTITIES:
        ordered = sorted(entities, key=lambda entity: entity.offset)
        cut = _index_at(text, ordered[MAX_ENTITIES].offset)
        line = text.rfind("\n", 0, cut)
        if line > 0:
            cut = line + 1
        if cut <= 0:
            break  # a hundred entities at the very start: nothing to cut before
        head = _clip(text, entities, 0, cut)
        if head[0].strip():
            parts.append(head)
        text, entities = _clip(text, entities, cut, len(text))
    if text.strip():
        parts.append((text, entities))
    return parts


def _index_at(text: str, utf16_offset: int) -> int:
    """The string index of a UTF-16 offset (never inside a surrogate pair)."""
    units = 0
    for index, char in enumerate(text):
        if units >= utf16_offset:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


def _clip(
    text: str, entities: list[MessageEntity], start: int, end: int
) -> tuple[str, list[MessageEntity]]:
    """`text[start:end]` with the entities that overlap it, clipped to it."""
    low, high = utf16_len(text[:start]), utf16_len(text[:end])
    clipped = []
    for entity in entities:
        first, last = max(entity.offset, low), min(entity.offset + entity.length, high)
        if last > first:
            clipped.append(entity.copy_with(offset=first - low, length=last - first))
    return text[start:end], clipped
