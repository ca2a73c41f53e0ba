"""`llmhub.__all__` is sorted, complete and honest (as httpx's own test does)."""

from __future__ import annotations

import types

import llmhub


def test_all_is_sorted_and_every_name_exists() -> None:
    assert llmhub.__all__ == sorted(llmhub.__all__, key=lambda n: (not n.isupper(), n))
    for name in llmhub.__all__:
        assert hasattr(llmhub, name), name


def test_every_public_name_is_exported() -> None:
    public = {
        name
        for name, value in vars(llmhub).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations"}
    }
    assert public - set(llmhub.__all__) == set()


def test_exceptions_share_one_root() -> None:
    errors = [getattr(llmhub, n) for n in llmhub.__all__ if n.endswith("Error")]
    assert errors
    assert all(issubclass(e, llmhub.LLMHubError) for e in errors)
