#!/usr/bin/env python3
"""Set up the environment in `.venv/` and run one job in it.

    python3 dev.py bot     set up, then run the Telegram bot (SQLite default)
    python3 dev.py test    set up, then run the whole test suite
    python3 dev.py check   set up, then ruff (lint and format) and mypy --strict
    python3 dev.py bench   set up with the benchmark peers, then run every benchmark
    python3 dev.py sync    set up only
    python3 dev.py pythons run the test suite on every other supported Python found
                           (on PATH or under pyenv), each in its own `.venv-3.X/`

Needs nothing but Python 3.11+. The set-up installs exactly the versions in
`uv.lock`: it takes `uv` from PATH, or installs the version the lock pins into
`.venv/` with pip, then runs `uv sync --locked` (the whole workspace: the core,
the three provider plugins, the bot and the dev tools). Extra arguments are
passed on, e.g. `python3 dev.py test -k registry -x`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _locked_uv_version() -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    for package in lock.get("package", []):
        if package.get("name") == "uv":
            return str(package["version"])
    raise SystemExit("uv.lock pins no uv version; run `uv lock` with the dev group")


def _uv() -> str:
    version = _locked_uv_version()
    local = BIN / "uv"
    if local.exists():
        return str(local)
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    if not (BIN / "python").exists():
        print(f"dev.py: creating {VENV.relative_to(ROOT)}/ with {sys.executable}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"dev.py: installing uv=={version} into .venv/", flush=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", f"uv=={version}"], check=True
    )
    return str(local)


def sync(*groups: str, venv: Path = VENV, python: str | None = None) -> None:
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never")
    if python is not None:
        env["UV_PYTHON"] = python
    elif not (venv / "bin" / "python").exists():
        # Pin the interpreter that runs this script, so uv never goes looking for another.
        env.setdefault("UV_PYTHON", sys.executable)
    subprocess.run(
        [
            _uv(),
            "sync",
            "--locked",
            "--all-packages",
            "--all-extras",
            "--quiet",
            *(f"--group={group}" for group in groups),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, cwd=ROOT).returncode


def _supported_minors() -> list[int]:
    """3.X for every X the project claims, from requires-python up to the newest found."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    floor = int(project["project"]["requires-python"].removeprefix(">=3."))
    return list(range(floor, 20))


def _other_pythons() -> dict[str, str]:
    """{"3.X": interpreter} for each supported Python other than this one that runs."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = {}
    for minor in _supported_minors():
        if minor == sys.version_info.minor:
            continue
        name = f"python3.{minor}"
        candidates = [shutil.which(name), *sorted(map(str, pyenv.glob(f"3.{minor}.*/bin/{name}")))]
        for candidate in filter(None, reversed(candidates)):
            probe = subprocess.run([candidate, "-c", "pass"], capture_output=True)
            if probe.returncode == 0:
                found[f"3.{minor}"] = candidate
                break
    return found


def test_other_pythons(rest: list[str]) -> int:
    pythons = _other_pythons()
    print(f"dev.py: other Pythons found: {', '.join(pythons) or 'none'}", flush=True)
    failed = 0
    for version, interpreter in pythons.items():
        venv = ROOT / f".venv-{version}"
        print(f"dev.py: the suite on Python {version} ({interpreter})", flush=True)
        sync(venv=venv, python=interpreter)
        failed = failed or _run([str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", *rest])
    return failed


def main(args: list[str]) -> int:
    job, rest = (args[0], args[1:]) if args else ("", [])
    if job not in {"bot", "test", "check", "bench", "sync", "pythons"}:
        print(__doc__)
        return 2
    sync(*(["bench"] if job == "bench" else []))
    if job == "pythons":
        return test_other_pythons(rest)
    if job == "bench":
        return _run([str(BIN / "python"), "-m", "bench", *rest])
    if job == "bot":
        return _run([str(BIN / "llmhub-bot"), *rest])
    if job == "test":
        return _run([str(BIN / "pytest"), *rest])
    if job == "check":
        paths = [p for p in ("src", "plugins", "tests", "bench", "dev.py") if (ROOT / p).exists()]
        lint = _run([str(BIN / "ruff"), "check", *paths])
        form = _run([str(BIN / "ruff"), "format", "--check", *paths])
        types = _run([str(BIN / "mypy"), *paths])
        return lint or form or types
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
