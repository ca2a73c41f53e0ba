"""What a user gets from the wheels: fresh venvs made with plain `python -m venv` and
pip, from `dist/` and the package index, by `python3 dev.py install`.

The venvs are made before the tests (that step reaches the index, as a user's
install does); the tests themselves talk only to local fakes. Without the venvs
(`INSTALL_VENVS` unset) they are skipped: `python3 dev.py install` runs them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from llmhub.testing.openai_server import FakeOpenAIServer
from tests.core.test_readme import snippet
from tests.scripts import run, run_python

VENVS = os.environ.get("INSTALL_VENVS")
pytestmark = pytest.mark.skipif(
    not VENVS, reason="needs the venvs `python3 dev.py install` makes from the wheels"
)
KEY = "sk-installed-key-9d8c7b6a"


def _bin(venv: str, name: str) -> str:
    assert VENVS is not None
    return str(Path(VENVS) / venv / "bin" / name)


async def test_the_core_alone_lists_no_plugin_and_says_what_to_install(tmp_path: Path) -> None:
    code, out, err = await run([_bin("core", "llmhub"), "providers"], tmp_path, {})
    assert code == 0, err
    assert 'pip install "aiollmhub[all]"' in out


@pytest.mark.parametrize("command", [["chat", "-m", "mistral-small-latest", "hi"], ["models"]])
async def test_the_core_alone_says_which_extra_a_model_needs(
    tmp_path: Path, command: list[str]
) -> None:
    code, _out, err = await run([_bin("core", "llmhub"), *command], tmp_path, {})
    assert code == 2
    assert 'no provider plugin is installed: pip install "aiollmhub[mistral]"' in err
    assert "[dipseek], [gemini], or [all]" in err  # extras that exist
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # noqa: ASYNC240 - no log made for nothing


async def test_the_bot_without_its_extra_says_what_to_install(tmp_path: Path) -> None:
    code, _out, err = await run(
        [_bin("core", "llmhub-bot")], tmp_path, {"TELEGRAM_BOT_TOKEN": "1:x"}
    )
    assert code == 2
    assert 'pip install "aiollmhub[bot]"' in err
    assert "Traceback" not in err


@pytest.mark.parametrize("venv", ["mistral", "all"])
async def test_chat_and_the_readme_snippet_work_from_the_wheels(tmp_path: Path, venv: str) -> None:
    async with FakeOpenAIServer(api_key=KEY) as llm:
        env = {
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": llm.url,
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'installed.db'}",
        }
        code, out, err = await run([_bin(venv, "llmhub"), "providers"], tmp_path, env)
        assert code == 0, err
        assert "aiollmhub-mistral 0.1.0" in out
        code, out, err = await run(
            [_bin(venv, "llmhub"), "chat", "-m", "mistral-small-latest", "hi there"], tmp_path, env
        )
        assert code == 0, err
        assert "echo: hi there" in out
        code, out, err = await run_python(
            snippet("## Using the library"), tmp_path, env, python=_bin(venv, "python")
        )
        assert code == 0, err
        assert err == ""
        assert "echo: Hello!" in out


async def test_everything_installs_with_the_supported_google_sdk(tmp_path: Path) -> None:
    code, out, err = await run([_bin("all", "llmhub"), "providers"], tmp_path, {})
    assert code == 0, err
    for plugin in ("aiollmhub-mistral", "aiollmhub-dipseek", "aiollmhub-gemini"):
        assert plugin in out
    check = (
        "from importlib.metadata import version\n"
        "import llmhub_bot, llmhub_gemini, psycopg, redis\n"
        "print(version('google-cloud-aiplatform'))\n"
    )
    code, out, err = await run_python(check, tmp_path, {}, python=_bin("all", "python"))
    assert code == 0, err
    # pip resolves the current major, the one uv.lock pins and the suite runs on
    # (the whole suite runs again on this install after these tests).
    assert out.split(".")[0] == _locked_major("google-cloud-aiplatform")
    code, _out, err = await run([_bin("all", "llmhub-bot")], tmp_path, {})
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN" in err


def _locked_major(package: str) -> str:
    import tomllib

    lock = tomllib.loads((Path(__file__).parents[2] / "uv.lock").read_text(encoding="utf-8"))
    [version] = [p["version"] for p in lock["package"] if p["name"] == package]
    return str(version).split(".")[0]


async def test_the_built_metadata_has_its_links_and_pins_the_plugins(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from importlib.metadata import metadata\n"
        "out = {}\n"
        "for dist in ('aiollmhub', 'aiollmhub-mistral', 'aiollmhub-dipseek', 'aiollmhub-gemini'):\n"
        "    m = metadata(dist)\n"
        "    out[dist] = {'urls': m.get_all('Project-URL') or [],\n"
        "                 'requires': m.get_all('Requires-Dist') or [],\n"
        "                 'description': m.get_payload() or ''}\n"
        "print(json.dumps(out))\n"
    )
    status, out, err = await run_python(code, tmp_path, {}, python=_bin("all", "python"))
    assert status == 0, err
    found = json.loads(out)
    core = found["aiollmhub"]
    assert {url.split(",")[0] for url in core["urls"]} >= {"Documentation", "Source", "Issues"}
    for extra, plugin in [("mistral", "mistral"), ("dipseek", "dipseek"), ("gemini", "gemini")]:
        [pin] = [
            r
            for r in core["requires"]
            if r.startswith(f"aiollmhub-{plugin}")
            and re.search(rf"""extra == ["']{extra}["']""", r)
        ]
        assert re.search(r">=0\.1\b", pin), pin
        assert "<0.2" in pin, pin
        [back] = [r for r in found[f"aiollmhub-{plugin}"]["requires"] if r.startswith("aiollmhub")]
        assert re.search(r">=0\.1\b", back), back
        assert "<0.2" in back, back
        assert found[f"aiollmhub-{plugin}"]["urls"]
    # The package index shows the description: it speaks to pip users.
    assert 'pip install "aiollmhub[mistral]"' in core["description"]
    assert "dev.py" not in core["description"]
