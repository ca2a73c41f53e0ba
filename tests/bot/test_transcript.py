"""The transcript script (`python -m tests.bot.transcript`) still runs through every
scene in both languages, and every step shows the user something."""

from __future__ import annotations

import pytest

from tests.bot import transcript


@pytest.mark.slow
@pytest.mark.parametrize("language", ["en", "ru"])
async def test_every_step_of_the_transcript_shows_something(
    language: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await transcript.run(language)
    lines = capsys.readouterr().out.splitlines()
    scenes = [line for line in lines if line.startswith("===")]
    assert len(scenes) == 5, scenes
    assert all(f"({language})" in scene for scene in scenes)
    steps = [i for i, line in enumerate(lines) if line.startswith("▶")]
    shown = [lines[i + 1] if i + 1 < len(lines) else "" for i in steps]
    silent = [
        lines[i] for i, first in zip(steps, shown, strict=True) if not first.startswith("  [")
    ]
    assert steps
    assert silent == []
