#!/usr/bin/env python3
"""Set up the environment in `.venv/` and run one job in it.

    python3 dev.py bot     set up, then run the Telegram bot (SQLite default)
    python3 dev.py test    set up, then run the whole test suite
    python3 dev.py check   set up, then ruff (lint and format) and mypy --strict
    python3 dev.py bench   set up with the benchmark peers, then run every benchmark
    python3 dev.py sync    set up only
    python3 dev.py docs    set up with the docs tools, then build the site into site/
                           (mkdocs --strict: a broken link or reference fails)
    python3 dev.py dist    build every sdist and wheel into dist/ and check them
    python3 dev.py install dist, then fresh venvs (plain venv + pip, the package index
                           and dist/) for the core alone, one plugin and [all], the
                           tests of what they hold (tests/install), and the whole
                           suite on the versions pip resolved for [all]
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
import tarfile
import tomllib
import venv
import zipfile
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


def _parallel(rest: list[str]) -> list[str]:
    """pytest-xdist's options for a whole run: two workers per core (many tests wait on
    processes and servers rather than compute), each handed tests as it finishes its
    last, in the suite's order (the slow ones first: tests/conftest.py). Not when the
    caller chose (`-n`), or runs a few tests (`-k`, a path)."""
    chosen = any(a in ("--numprocesses", "no:xdist") or a.startswith(("-n", "-k")) for a in rest)
    if chosen or any(not a.startswith("-") for a in rest):
        return []
    workers = min(8, 2 * (os.cpu_count() or 1))
    return ["-n", str(workers), "--dist", "load", "--maxschedchunk", "1"]


def _run(argv: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(argv, cwd=ROOT, env=env).returncode


def _cached_bytecode(venv: Path = VENV) -> dict[str, str]:
    """This environment, with Python's compiled bytecode kept under `venv`.

    Without a cache every process compiles each module it imports, and pytest
    rewrites every test module again: seconds of CPU per process, and the suite
    starts dozens of them. The cache lives in `venv/pycache/`, so the checkout
    stays free of `__pycache__` (which PYTHONDONTWRITEBYTECODE, dropped here, is
    usually set for)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(venv / "pycache")
    return env


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
        pytest = [str(venv / "bin" / "pytest"), "-p", "no:cacheprovider", *_parallel(rest)]
        failed = failed or _run([*pytest, *rest], _cached_bytecode(venv))
    return failed


def _metadata_version(metadata: str) -> tuple[int, ...]:
    line = next(x for x in metadata.splitlines() if x.startswith("Metadata-Version:"))
    return tuple(int(part) for part in line.split(":", 1)[1].strip().split("."))


def _wheel_problems(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    problems = []
    if _metadata_version(text) > (2, 4):
        problems.append("Metadata-Version above 2.4 (older publishing tools refuse it)")
    if not any("/licenses/LICENSE" in n for n in names):
        problems.append("no LICENSE file")
    if "Requires-Python: >=3.11" not in text:
        problems.append("no Requires-Python")
    if wheel.name.startswith("aiollmhub-0"):
        for needed in ("llmhub/py.typed", "llmhub_bot/locales/ru/LC_MESSAGES/messages.mo"):
            if needed not in names:
                problems.append(f"{needed} missing")
    return [f"{wheel.name}: {problem}" for problem in problems]


def _sdist_problems(sdist: Path) -> list[str]:
    unwanted = ("dev.py", ".pre-commit-config.yaml", "uv.lock", "tests/", ".ci/", "bench/")
    with tarfile.open(sdist) as archive:
        names = [name.split("/", 1)[1] for name in archive.getnames() if "/" in name]
    return [
        f"{sdist.name}: ships {name}"
        for name in names
        if name.startswith(unwanted) and not name.endswith("/")
    ]


def dist() -> int:
    """Every sdist and wheel into dist/ (each wheel built from its sdist), checked."""
    out = ROOT / "dist"
    shutil.rmtree(out, ignore_errors=True)
    built = _run([_uv(), "build", "--all-packages", "--out-dir", str(out), "--quiet"])
    if built:
        return built
    artifacts = sorted(out.glob("*.whl")) + sorted(out.glob("*.tar.gz"))
    checked = _run([str(BIN / "twine"), "check", "--strict", *map(str, artifacts)])
    problems = [p for a in artifacts if a.suffix == ".whl" for p in _wheel_problems(a)]
    problems += [p for a in artifacts if a.name.endswith(".tar.gz") for p in _sdist_problems(a)]
    for problem in problems:
        print(f"dev.py dist: {problem}", file=sys.stderr)
    print(f"dev.py dist: {len(artifacts)} artifacts in dist/", flush=True)
    return checked or (1 if problems else 0)


#: The installs a user makes, each in a fresh venv under .install/.
INSTALLS = {"core": "aiollmhub", "mistral": "aiollmhub[mistral]", "all": "aiollmhub[all]"}


def install_test(rest: list[str]) -> int:
    if dist():
        return 1
    base = ROOT / ".install"
    shutil.rmtree(base, ignore_errors=True)
    for name, requirement in INSTALLS.items():
        venv_dir = base / name
        print(f"dev.py: pip install {requirement!r} into {venv_dir.relative_to(ROOT)}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
        pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--find-links", str(ROOT / "dist"), requirement], check=True)
    env = dict(os.environ, INSTALL_VENVS=str(base))
    installed = subprocess.run([str(BIN / "pytest"), "tests/install", *rest], cwd=ROOT, env=env)
    if installed.returncode:
        return installed.returncode
    # The whole suite on what pip resolved for [all], not on uv.lock's versions:
    # what users run (the package from the wheel, its dependencies from the index).
    python = str(base / "all" / "bin" / "python")
    # What the tests import beyond the package and its extras (the dev group's test part).
    tools = [
        "pytest",
        "pytest-asyncio",
        "pytest-xdist",
        "fastapi",
        "uvicorn",
        "respx",
        "hypothesis",
        "opentelemetry-sdk",
        "opentelemetry-instrumentation-aiohttp-client",
    ]
    subprocess.run([python, "-m", "pip", "install", "--quiet", *tools], check=True)
    print("dev.py: the suite on the [all] install's dependencies", flush=True)
    suite = [python, "-m", "pytest", "-p", "no:cacheprovider", "--ignore=tests/install"]
    suite += [*_parallel(rest), *rest]
    return _run(suite, _cached_bytecode(base / "all"))


def main(args: list[str]) -> int:
    job, rest = (args[0], args[1:]) if args else ("", [])
    if job not in {"bot", "test", "check", "bench", "sync", "pythons", "dist", "install", "docs"}:
        print(__doc__)
        return 2
    sync(*(["bench"] if job == "bench" else ["docs"] if job == "docs" else []))
    if job == "docs":
        os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # a notice, not about this site
        return _run([str(BIN / "mkdocs"), "build", "--strict", "--site-dir", "site", *rest])
    if job == "pythons":
        return test_other_pythons(rest)
    if job == "dist":
        return dist()
    if job == "install":
        return install_test(rest)
    if job == "bench":
        return _run([str(BIN / "python"), "-m", "bench", *rest])
    if job == "bot":
        return _run([str(BIN / "llmhub-bot"), *rest], _cached_bytecode())
    if job == "test":
        return _run([str(BIN / "pytest"), *_parallel(rest), *rest], _cached_bytecode())
    if job == "check":
        paths = [
            p
            for p in ("src", "plugins", "tests", "bench", "examples", "dev.py")
            if (ROOT / p).exists()
        ]
        lint = _run([str(BIN / "ruff"), "check", *paths])
        form = _run([str(BIN / "ruff"), "format", "--check", *paths])
        types = _run([str(BIN / "mypy"), *paths])
        return lint or form or types
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
