"""Outside the core, llmhub is used through its public API only, as a plugin
from another repository must: ruff refuses `llmhub._*` imports there."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = [ROOT / "plugins", ROOT / "src" / "llmhub_bot", ROOT / "bench", ROOT / "tests" / "fakes"]


def _private_modules() -> set[str]:
    return {
        ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        for path in (ROOT / "src" / "llmhub").rglob("_*.py")
        if path.name != "__init__.py"
    }


def test_ruff_bans_every_private_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    banned = set(config["tool"]["ruff"]["lint"]["flake8-tidy-imports"]["banned-api"])
    assert banned == _private_modules()


def test_nothing_outside_the_core_imports_a_private_module() -> None:
    offenders = []
    for folder in OUTSIDE:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                offenders += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.startswith("llmhub.")
                    and any(p.startswith("_") for p in name.split("."))
                ]
    assert offenders == []


def test_public_names_read_as_public_and_still_resolve() -> None:
    """`llmhub.Hub`, `llmhub.RateLimitError` in reprs and tracebacks; pickled errors and
    the type hints of every renamed class are found all the same."""
    import inspect
    import pickle
    import traceback
    import typing

    import llmhub

    assert llmhub.Hub.__module__ == "llmhub"
    assert llmhub.Chat.__module__ == "llmhub"
    assert llmhub.generate_reply.__module__ == "llmhub"
    error = llmhub.RateLimitError("slow down", retry_after=2.0)
    assert repr(llmhub.RateLimitError) == "<class 'llmhub.RateLimitError'>"
    shown = "".join(traceback.format_exception(error))
    assert shown.startswith("llmhub.RateLimitError: slow down")
    again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (type(again), again.retry_after) == (llmhub.RateLimitError, 2.0)
    for name in llmhub.__all__:
        value = getattr(llmhub, name)
        if (value.__class__ is type and value.__module__ == "llmhub") or inspect.isfunction(value):
            typing.get_type_hints(value)  # raises NameError if a hint no longer resolves
