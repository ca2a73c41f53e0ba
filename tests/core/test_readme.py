"""The README and the documentation say what is true: the provider table, the two
commands, the snippets (run as written)."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from llmhub import ProviderRegistry
from llmhub.testing.openai_server import FakeOpenAIServer
from tests.scripts import run_python
from tests.services import fresh_postgres_database

README = Path(__file__).resolve().parents[2] / "README.md"
DOCS = README.parent / "docs"
KEY = "sk-readme-snippet-key-0a9b8c7d"


@pytest.mark.parametrize("page", [README, DOCS / "guide" / "providers.md"], ids=["readme", "docs"])
def test_the_provider_table_matches_the_plugins(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    table = text.split("<!-- providers-table")[1].split("<!-- /providers-table -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    expected = [
        f"| {i.name} | {i.supports_files} | {', '.join(i.env_vars)} |"
        for i in ProviderRegistry({}).info()
    ]
    assert rows == expected


def test_the_quickstart_has_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "python3 dev.py bot" in text
    assert "python3 dev.py test" in text
    assert (README.parent / ".ci" / "run").read_text().count("python3 dev.py test") == 1


def snippet(heading: str, page: Path = README) -> str:
    """The first Python block under `heading` in `page` (the README by default)."""
    section = ("\n" + page.read_text(encoding="utf-8")).split(f"\n{heading}\n", 1)[1]
    return section.split("```python\n", 1)[1].split("\n```", 1)[0]


async def _run_snippet(tmp_path: Path, database_url: str) -> tuple[int, str, str]:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        return await run_python(
            snippet("## Using the library"),
            tmp_path,
            {
                "MISTRAL_API_KEY": KEY,
                "MISTRAL_ENDPOINT": llm.url,
                "LLMHUB_DATABASE_URL": database_url,
            },
        )


async def test_the_usage_snippet_runs_as_written_and_leaves_nothing_open(tmp_path: Path) -> None:
    code, out, err = await _run_snippet(tmp_path, f"sqlite:///{tmp_path / 'snippet.db'}")
    assert code == 0, err
    assert err == ""  # no "Unclosed client session", no ResourceWarning, nothing
    assert "echo: Hello!" in out
    with contextlib.closing(sqlite3.connect(tmp_path / "snippet.db")) as db:
        statuses = db.execute("SELECT status FROM responses").fetchall()
    assert statuses == [("ok",), ("ok",)]


async def test_the_usage_snippet_on_postgres_closes_its_pool_and_writes_every_row(
    tmp_path: Path,
) -> None:
    async with fresh_postgres_database() as url:
        code, _out, err = await _run_snippet(tmp_path, url)
        assert code == 0, err
        assert err == ""
        import psycopg

        async with await psycopg.AsyncConnection.connect(url) as db:
            cursor = await db.execute("SELECT count(*) FROM responses WHERE status = 'ok'")
            assert await cursor.fetchone() == (2,)


def test_every_install_command_names_our_distribution() -> None:
    root = README.parent
    dist = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"]
    texts = [README, root / "README.pypi.md", root / ".env.example", *DOCS.rglob("*.md")]
    texts += [*root.glob("plugins/*/README.md"), *root.glob("examples/**/*.md")]
    texts += [*(root / "src").rglob("*.py")]
    for path in texts:
        for command in re.findall(r'pip install "([\w.-]+)\[', path.read_text(encoding="utf-8")):
            assert command == dist, f"{path}: pip install {command!r}, not {dist!r}"


async def test_the_apps_that_act_snippet_runs_as_written(tmp_path: Path) -> None:
    from llmhub.testing.openai_server import Behaviour

    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(
            Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Paris"}}]),
            Behaviour(text="Sunny in Paris."),
            Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Rome"}}]),
            Behaviour(text="Sunny in Rome."),
            Behaviour(text='{"name": "Paris", "country": "France"}'),
            Behaviour(text="No: 9.8 is greater.", reasoning="Compare the tenths."),
        )
        env = {
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": llm.url,
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'act.db'}",
            "LLMHUB_DEFAULT_MODEL": "mistral-small-latest",
        }
        code, out, err = await run_python(
            snippet("# Apps that act", DOCS / "guide" / "acting.md"), tmp_path, env
        )
        sent = llm.requests
    assert code == 0, err
    assert err == ""
    assert out.splitlines() == [
        "Sunny in Paris. ['weather']",
        "[calling weather…]",
        "Sunny in Rome.",
        "Paris France",
        "No: 9.8 is greater.",
        "2 4 True",
    ]
    assert sent[5]["reasoning_effort"] == "high"


async def test_the_sync_snippet_runs_as_written(tmp_path: Path) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        env = {
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": llm.url,
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'sync.db'}",
        }
        code, out, err = await run_python(
            snippet(
                "## Sync use (scripts, Django, Flask, notebooks)", DOCS / "guide" / "acting.md"
            ),
            tmp_path,
            env,
        )
    assert code == 0, err
    assert err == ""
    assert out.splitlines() == ["echo: Hello", "echo: And in French?"]
    with contextlib.closing(sqlite3.connect(tmp_path / "sync.db")) as db:
        assert db.execute("SELECT status FROM responses").fetchall() == [("ok",), ("ok",)]
