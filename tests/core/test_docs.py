"""The documentation is whole and true: every page in the site's navigation, every
link of the README to a file that exists, the errors tree as the classes are."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import llmhub

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_the_readme_is_short_and_its_links_lead_somewhere() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    targets = re.findall(r"\]\((?!https?://)([^)#]+)", text)
    assert targets
    assert [t for t in targets if not (ROOT / t).exists()] == []


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s+([\w/.-]+\.md)\s*$", config, flags=re.MULTILINE))
    pages = {str(page.relative_to(DOCS)) for page in DOCS.rglob("*.md")}
    assert pages == listed


def _tree(
    cls: type[BaseException], classes: list[type[BaseException]], depth: int = 0
) -> list[str]:
    lines = ["    " * depth + cls.__name__]
    for child in sorted((c for c in classes if cls in c.__bases__), key=lambda c: c.__name__):
        lines += _tree(child, classes, depth + 1)
    return lines


def test_the_errors_page_shows_the_tree_as_it_is() -> None:
    exported = [getattr(llmhub, name) for name in llmhub.__all__]
    errors = [c for c in exported if inspect.isclass(c) and issubclass(c, BaseException)]
    assert all(issubclass(c, llmhub.LLMHubError) for c in errors)
    page = (DOCS / "guide" / "errors.md").read_text(encoding="utf-8")
    block = page.split("<!-- errors-tree")[1].split("```text\n", 1)[1].split("\n```", 1)[0]
    assert block.splitlines() == _tree(llmhub.LLMHubError, errors)


def test_the_package_index_page_speaks_to_pip_users() -> None:
    text = (ROOT / "README.pypi.md").read_text(encoding="utf-8")
    assert "dev.py" not in text
    assert 'pip install "aiollmhub[' in text
    assert "](docs/" not in text  # relative links lead nowhere on the package index
