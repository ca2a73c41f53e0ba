"""Running a short Python script in a process of its own, as a user would."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path


async def run_python(
    code: str,
    cwd: Path,
    env: Mapping[str, str],
    *,
    timeout: float = 60,
    python: str = sys.executable,
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `code` run by `python` (this one) in `cwd`.

    The environment is this one without llmhub's and the providers' variables,
    plus `env`; every warning is shown (ResourceWarning included), so anything
    left open at exit appears on stderr.
    """
    script = cwd / "script.py"
    script.write_text(code, encoding="utf-8")
    return await run([python, str(script)], cwd, env, timeout=timeout)


async def run(
    argv: list[str], cwd: Path, env: Mapping[str, str], *, timeout: float = 60
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `argv` in `cwd`, in a clean environment plus `env`."""
    prefixes = ("LLMHUB_", "MISTRAL_", "DIPSEEK_", "DEEPSEEK_", "GEMINI_", "GOOGLE_")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    environment.update(env, PYTHONWARNINGS="always")
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    except TimeoutError:
        process.kill()  # a script that hangs must not outlive its test
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
