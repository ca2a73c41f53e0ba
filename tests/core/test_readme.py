"""The README's provider table says what the installed plugins declare."""

from __future__ import annotations

from pathlib import Path

from llmhub import ProviderRegistry

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_provider_table_matches_the_plugins() -> None:
    text = README.read_text(encoding="utf-8")
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
