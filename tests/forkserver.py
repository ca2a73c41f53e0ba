"""Console-script processes for the tests without paying their imports each time.

`llmhub-bot` spends about three seconds of CPU importing aiogram (pydantic builds
its ~400 Telegram types at import) before it does anything, and the suite starts
some twenty of them: a minute of CPU on a two-core machine. A fork server
imports the bot once, then forks a process per start. Each one is still a real,
separate process running the console script's own entry point: its own pid,
environment, working directory, standard streams and warning options; signals
reach it and its exit status comes back as `asyncio`'s would (a negative number
for a signal). What it does not repeat is the interpreter's start and the
imports, so a test that is about the installed script itself (its file, its
shebang, an import that fails) runs it with `exec` (`fresh=True`).

    python -m tests.forkserver SOCKET     serve until standard input closes

The session's first pytest process starts one (`tests/conftest.py`) and names it
in `TESTS_FORKSERVER`; without it (or off Linux) `start` simply execs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import json
import os
import pkgutil
import selectors
import signal
import socket
import subprocess
import sys
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any, Protocol, cast

#: The environment variable naming the fork server's socket.
SOCKET_VARIABLE = "TESTS_FORKSERVER"
PIPE = asyncio.subprocess.PIPE
STDOUT = asyncio.subprocess.STDOUT
DEVNULL = asyncio.subprocess.DEVNULL

#: What a test may pass for a standard stream: PIPE, STDOUT (stderr only),
#: DEVNULL, an open file or a file descriptor; None inherits the test's own.
Stream = int | IO[Any] | None


class Process(Protocol):
    """What the tests use of `asyncio.subprocess.Process`."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    @property
    def stdout(self) -> asyncio.StreamReader | None: ...
    async def wait(self) -> int: ...
    async def communicate(self) -> tuple[bytes, bytes]: ...
    def send_signal(self, sig: int) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


async def start(
    argv: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    stdout: Stream = None,
    stderr: Stream = None,
    fresh: bool = False,
) -> Process:
    """Start the console script `argv[0]` (a path in this venv's bin) with `argv[1:]`.

    Forked from the fork server when one runs, the script is not `fresh`, and the
    environment does not change where Python finds modules; otherwise exec'd.
    """
    path = os.environ.get(SOCKET_VARIABLE)
    forkable = not fresh and path and env.get("PYTHONPATH") == os.environ.get("PYTHONPATH")
    if not forkable:
        return await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr, stdin=DEVNULL
        )
    assert path is not None
    return await _Forked.start(path, argv, env=env, cwd=cwd, stdout=stdout, stderr=stderr)


class _Forked:
    """A process the fork server started, driven as `asyncio` drives its own."""

    def __init__(
        self,
        pid: int,
        status: asyncio.StreamReader,
        connection: asyncio.StreamWriter,
        stdout: asyncio.StreamReader | None,
    ) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stdout = stdout
        self._status = status
        self._connection = connection
        self._pidfd = os.pidfd_open(pid)

    @classmethod
    async def start(
        cls,
        path: str,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        stdout: Stream,
        stderr: Stream,
    ) -> _Forked:
        if stderr == PIPE:
            raise ValueError("only stdout may be a pipe here; stderr can go to STDOUT or a file")
        reader: asyncio.StreamReader | None = None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # The descriptors opened here for the child: sending copies them.
            with contextlib.ExitStack() as opened:
                null = os.open(os.devnull, os.O_RDWR)
                opened.callback(os.close, null)
                if stdout == PIPE:
                    read_end, out = os.pipe()
                    opened.callback(os.close, out)
                    reader = await _pipe_reader(read_end)
                else:
                    out = _descriptor(stdout, null, 1)
                err = out if stderr == STDOUT else _descriptor(stderr, null, 2)
                sock.connect(path)  # a local socket: at once
                request = json.dumps({"argv": argv, "env": env, "cwd": str(cwd)}).encode()
                socket.send_fds(sock, [request + b"\n"], [null, out, err])
        except BaseException:
            sock.close()
            raise
        status, connection = await asyncio.open_unix_connection(sock=sock)
        answer = await status.readline()
        if not answer:
            connection.close()
            raise RuntimeError(f"the fork server at {path} could not start {argv[0]}")
        return cls(int(json.loads(answer)["pid"]), status, connection, reader)

    async def wait(self) -> int:
        if self.returncode is None:
            line = await self._status.readline()
            if not line:
                raise RuntimeError("the fork server went away")
            self.returncode = int(json.loads(line)["returncode"])
            self._connection.close()
            await self._connection.wait_closed()
            os.close(self._pidfd)
        return self.returncode

    async def communicate(self) -> tuple[bytes, bytes]:
        """What the process wrote to its stdout pipe (b"" without one), and b"" (only
        stdout may be a pipe here)."""
        out = await self.stdout.read() if self.stdout is not None else b""
        await self.wait()
        return out, b""

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:  # the pidfd names this process, never a reused pid
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _descriptor(stream: Stream, null: int, inherited: int) -> int:
    if stream is None:
        return inherited
    if stream == DEVNULL:
        return null
    if isinstance(stream, int):
        return stream
    return stream.fileno()


async def _pipe_reader(fd: int) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    await loop.connect_read_pipe(lambda: protocol, io.FileIO(fd, "r"))
    return reader


def launch(path: Path) -> subprocess.Popen[bytes]:
    """Start a fork server at `path`; it serves until its standard input closes."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.forkserver", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )
    assert server.stdout is not None
    if server.stdout.readline() != b"ready\n":
        server.kill()
        raise RuntimeError("the fork server did not start")
    return server


# The server's side.


@dataclass
class _Job:
    """What a forked child is to become."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    fds: list[int]


def _warm() -> None:
    """Import what the console scripts import, once, before the first fork: every
    module of the core and the bot whose dependencies are installed, and every
    provider plugin."""
    import llmhub
    import llmhub_bot

    for package in (llmhub, llmhub_bot):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            with contextlib.suppress(ImportError):
                importlib.import_module(module.name)
    llmhub.ProviderRegistry({}).info()


def _serve(path: str) -> _Job:
    """Accept starts until standard input closes; return only in a forked child."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, ("accept",))
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, ("parent",))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C reaches the tests; they close stdin
    children: dict[int, socket.socket] = {}
    pidfds: list[int] = []
    warm = False
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.flush()
    while True:
        for key, _ in selector.select():
            kind, *rest = key.data
            if kind == "parent" and not os.read(sys.stdin.fileno(), 1024):
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                os.unlink(path)
                os._exit(0)
            elif kind == "accept":
                connection, _ = listener.accept()
                selector.register(connection, selectors.EVENT_READ, ("request", connection))
            elif kind == "request":
                [connection] = rest
                selector.unregister(connection)
                message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
                while message and not message.endswith(b"\n"):
                    more = connection.recv(1 << 20)
                    message = message + more if more else b""
                if not message or len(fds) != 3:
                    for fd in fds:
                        os.close(fd)
                    connection.close()
                    continue
                if not warm:
                    _warm()
                    warm = True
                request = json.loads(message)
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    listener.close()
                    connection.close()
                    for other in children.values():
                        other.close()
                    for fd in pidfds:
                        os.close(fd)
                    return _Job(request["argv"], request["env"], request["cwd"], fds)
                for fd in fds:
                    os.close(fd)
                children[pid] = connection
                connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                pidfd = os.pidfd_open(pid)
                pidfds.append(pidfd)
                selector.register(pidfd, selectors.EVENT_READ, ("exit", pid, pidfd))
                selector.register(connection, selectors.EVENT_READ, ("client", pid))
            elif kind == "exit":
                pid, pidfd = rest
                selector.unregister(pidfd)
                pidfds.remove(pidfd)
                os.close(pidfd)
                _, status = os.waitpid(pid, 0)
                connection = children.pop(pid)
                with contextlib.suppress(KeyError):  # unless the test went away
                    selector.unregister(connection)
                with contextlib.suppress(OSError):  # the test may be gone
                    answer = {"returncode": os.waitstatus_to_exitcode(status)}
                    connection.sendall(json.dumps(answer).encode() + b"\n")
                connection.close()
            elif kind == "client":
                [pid] = rest
                with contextlib.suppress(OSError):
                    if children[pid].recv(1):
                        continue
                # The test went away without waiting: its process must not outlive it.
                selector.unregister(children[pid])
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _become(job: _Job, filters: list[Any]) -> None:
    """Turn this forked child into `job`'s console script, as if exec'd."""
    for target, fd in enumerate(job.fds):
        os.dup2(fd, target)
    for fd in set(job.fds) - {0, 1, 2}:
        os.close(fd)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(job.cwd)
    os.environ.clear()
    os.environ.update(job.env)
    sys.argv = list(job.argv)
    sys.path[0] = str(Path(job.argv[0]).parent)  # where an exec'd script has its own
    unbuffered = bool(job.env.get("PYTHONUNBUFFERED"))
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = _text(1, "strict", line_buffering=False, unbuffered=unbuffered)
    sys.stderr = _text(2, "backslashreplace", line_buffering=True, unbuffered=unbuffered)
    # The warning options as the interpreter applies them at its start: below what
    # the imports added since, above the defaults.
    current = cast(list[Any], warnings.filters)
    added = [f for f in current if f not in filters]
    current[:] = filters
    set_option = getattr(warnings, "_setoption")  # noqa: B009
    for option in filter(None, job.env.get("PYTHONWARNINGS", "").split(",")):
        set_option(option.strip())
    current[:0] = added
    getattr(warnings, "_filters_mutated", lambda: None)()
    [entry] = metadata.entry_points(group="console_scripts", name=Path(job.argv[0]).name)
    sys.exit(entry.load()())


def _text(fd: int, errors: str, *, line_buffering: bool, unbuffered: bool) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    binary: io.RawIOBase | io.BufferedWriter = raw if unbuffered else io.BufferedWriter(raw)
    encoding = sys.__stdout__.encoding if sys.__stdout__ else "utf-8"
    return io.TextIOWrapper(
        binary,  # type: ignore[arg-type]
        encoding=encoding,
        errors=errors,
        line_buffering=line_buffering,
        write_through=unbuffered,
    )


if __name__ == "__main__":
    startup_filters = list(warnings.filters)
    _become(_serve(sys.argv[1]), startup_filters)
