"""Nothing of the model's text is lost on its way to Telegram.

Only Markdown syntax may turn into formatting. For every generated answer
(tags, angle brackets, entity references, code spans and fences, links,
nested emphasis, tables, LaTeX, emoji and other non-BMP characters,
right-to-left text), each word outside the syntax appears in the visible
text, in order, and every part is a payload Telegram takes: at most 4,096
UTF-16 units and 100 entities, entities inside the text, no half of a
surrogate pair at a cut.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmhub_bot._markdown import MAX_ENTITIES, MAX_MESSAGE, to_telegram

WORD = st.text(
    st.sampled_from(
        "abcxyzABCXYZ0123456789"  # Latin and digits
        "абвгдеж"  # Cyrillic
        "אבגדה"  # Hebrew, right to left
        "عربية"  # Arabic, right to left
        "漢字かな"  # CJK
        "😀🚀🧪𝔸𝕏"  # outside the BMP: two UTF-16 units each
    ),
    min_size=1,
    max_size=8,
)

#: Inline pieces a model writes: (markdown, the words a reader must see).
_TAGS = [
    '<div class="x">',
    "</div>",
    "<br>",
    "<br/>",
    "<tag>",
    "List<int>",
    "Map<String, List<int>>",
    "<!-- note -->",
    '<a href="https://example.org">',
    "<tg-spoiler>",
    "a < b > c",
    "{{ template }}",
    "<?xml version?>",
]
_ENTITIES = ["&amp;", "&copy;", "&#169;", "&lt;b&gt;", "& amp.", "&nbsp;x", "&"]
_LATEX = [("$x + y$", "x y"), ("$a = b$", "a b"), ("$$n m$$", "n m")]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


@st.composite
def inline(draw: st.DrawFn) -> tuple[str, str]:
    word = draw(WORD)
    kind = draw(st.sampled_from(["word", "tag", "entity", "code", "bold", "nested", "link"]))
    if kind == "tag":
        tag = draw(st.sampled_from(_TAGS))
        return tag, tag
    if kind == "entity":
        entity = draw(st.sampled_from(_ENTITIES))
        return entity, entity
    if kind == "code":
        return f"`{word}<{word}>`", f"{word}<{word}>"
    if kind == "bold":
        return f"**{word}**", word
    if kind == "nested":
        other = draw(WORD)
        return f"**{word} *{other}* {word}**", f"{word} {other} {word}"
    if kind == "link":
        return f"[{word}](https://example.org/{len(word)})", word
    return word, word


@st.composite
def block(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(
        st.sampled_from(["paragraph", "fence", "table", "heading", "list", "quote", "math"])
    )
    pieces = draw(st.lists(inline(), min_size=1, max_size=8))
    markdown = " ".join(p[0] for p in pieces)
    expected = " ".join(p[1] for p in pieces)
    if kind == "fence":
        code = draw(st.lists(st.sampled_from([*_TAGS, "x = 1", "if a<b:"]), min_size=1))
        body = "\n".join(code)
        return f"```html\n{body}\n```", body
    if kind == "table":
        a, b, c = draw(WORD), draw(WORD), draw(st.sampled_from(_TAGS))
        return f"| {a} | h |\n|---|---|\n| {c} | {b} |", f"{a} h {c} {b}"
    if kind == "heading":
        return f"## {markdown}", expected
    if kind == "list":
        return f"- {markdown}\n- {markdown}", f"{expected} {expected}"
    if kind == "quote":
        return f"> {markdown}", expected
    if kind == "math":
        return draw(st.sampled_from(_LATEX))
    return markdown, expected


@st.composite
def answers(draw: st.DrawFn) -> tuple[str, str]:
    blocks = draw(st.lists(block(), min_size=1, max_size=12))
    times = draw(st.sampled_from([1, 1, 1, 40, 150]))  # some long enough to split
    markdown = "\n\n".join(b[0] for b in blocks)
    expected = " ".join(b[1] for b in blocks)
    return "\n\n".join([markdown] * times), " ".join([expected] * times)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check(markdown: str, expected: str) -> None:
    parts = to_telegram(markdown)
    visible = "".join(text for text, _ in parts)
    position = 0
    for word in _words(expected):
        found = visible.find(word, position)
        assert found >= 0, f"{word!r} lost (after {visible[max(0, position - 40) : position]!r})"
        position = found + len(word)
    for text, entities in parts:
        text.encode("utf-8")  # strict: no lone surrogate anywhere
        assert text.strip()
        assert _utf16(text) <= MAX_MESSAGE
        assert len(entities) <= MAX_ENTITIES
        bounds = set(itertools.accumulate((_utf16(c) for c in text), initial=0))
        for entity in entities:
            assert entity.length > 0
            assert entity.offset in bounds
            assert entity.offset + entity.length in bounds  # inside, never half a pair


#: Every counterexample found so far, and the issue's own examples, kept for good.
REGRESSIONS = [
    ('use <div class="x">hi</div> here', 'use <div class="x">hi</div> here'),
    ("x <br> y", "x <br> y"),
    ("pipe {braces} <tag> & amp.", "pipe {braces} <tag> & amp."),
    ("List<int> and &amp; &copy;", "List<int> and &amp; &copy;"),
    ("<div>\nblock\n</div>\n\nafter", "div block div after"),
    ("| a | b |\n|---|---|\n| <b> | 2 |", "a b <b> 2"),
    ("a <!-- c --> b", "a c b"),
    ("**" + "x** **".join(["w"] * 300) + "**", " ".join(["w"] * 300)),  # 300 entities
    ("😀" * 5000, "😀" * 5000),  # splits between pairs
]


@pytest.mark.parametrize(("markdown", "expected"), REGRESSIONS)
def test_known_answers_keep_every_word(markdown: str, expected: str) -> None:
    check(markdown, expected)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(answers())
@example(("**a** " * 250, "a " * 250))
def test_every_word_outside_markdown_syntax_reaches_telegram(sample: tuple[str, str]) -> None:
    check(*sample)
