"""Running reprocal against hostile inputs, with its invariants checked.

:class:`Runner` keeps one worker process that has imported reprocal once and runs commands in it
one after another (``reprocal.cli.main``, in-process), under an address-space limit
(``RLIMIT_AS`` set in a ``preexec_fn``): a command that tries to allocate what a hostile input
announces dies of ``MemoryError`` there, which the case reports as a failure. Each command has a
deadline; a worker that does not answer in time is killed (a hang is a failure) and replaced. So
a case costs milliseconds, not an interpreter start-up, and the whole suite stays fast.

In the worker, host names ending in ``.invalid`` do not resolve (no query leaves the machine), so
"a mirror whose name does not resolve" is tested without any network.

:func:`check` asserts the invariants of a hostile case: the exit code, exactly one line on
stderr (``reprocal: error: ...``, never a traceback), nothing written outside the case's own
place (:class:`Outside` snapshots a directory of victims), bounded time.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

MEMORY_LIMIT = 1536 << 20
"""Address space the worker may use: far above what reprocal needs for these inputs (a few
hundred MiB with numpy and astropy imported), far below what a hostile header would make it
allocate."""

DEADLINE = 20.0
"""Seconds any one hostile command may take (the bounds are set small in the cases)."""

WORKER = r"""
import contextlib, io, json, os, socket, sys, time, traceback

_real_getaddrinfo = socket.getaddrinfo

def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".invalid"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real_getaddrinfo(host, *args, **kwargs)

socket.getaddrinfo = _getaddrinfo

import reprocal.cli  # noqa: E402  (once: every command after this is fast)

requests_in = os.fdopen(int(sys.argv[1]), "r")
answers = os.fdopen(int(sys.argv[2]), "w")
home = os.getcwd()
base_env = dict(os.environ)
for line in requests_in:
    req = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(base_env)
    os.environ.update(req["env"])
    for k in req.get("unset", []):
        os.environ.pop(k, None)
    os.chdir(req["cwd"])
    started = time.monotonic()
    crash = None
    code = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = reprocal.cli.main(req["argv"])
    except BaseException as exc:  # what main let through is the failure
        crash = "".join(traceback.format_exception(exc))[-4000:]
    os.chdir(home)
    answers.write(json.dumps({"code": code, "stdout": out.getvalue()[-20000:],
                              "stderr": err.getvalue()[-20000:], "crash": crash,
                              "seconds": time.monotonic() - started}) + "\n")
    answers.flush()
"""


@dataclass
class Result:
    """What one command did."""

    argv: list[str]
    code: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    crash: str | None = None
    """A traceback that escaped ``main`` (MemoryError included)."""
    hung: bool = False
    """The command did not finish within its deadline (the worker was killed)."""
    died: bool = False
    """The worker died (killed by the kernel, a segfault)."""

    @property
    def err_lines(self) -> list[str]:
        return self.stderr.splitlines()


def _limit_memory() -> None:  # pragma: no cover - runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


class Runner:
    """One worker at a time; ``runner(argv, cwd=..., env=...)`` returns a :class:`Result`."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0

    def _start(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        env["MALLOC_ARENA_MAX"] = "2"  # per-thread malloc arenas would count against the limit
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), cwd=self.workdir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_limit_memory)
        os.close(to_child_r)
        os.close(from_child_w)
        self._to = os.fdopen(to_child_w, "w")
        self._from = from_child_r
        self._buf = b""
        self.started += 1

    def stop(self) -> None:
        if self.proc is not None:
            try:
                self._to.close()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            os.close(self._from)
            self.proc = None

    def _kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        try:
            self._to.close()
        except OSError:
            pass
        os.close(self._from)
        self.proc = None

    def __call__(self, *argv: str | os.PathLike[str], cwd: Path | None = None,
                 env: dict[str, str] | None = None, unset: tuple[str, ...] = (),
                 deadline: float = DEADLINE) -> Result:
        args = [os.fspath(a) for a in argv]
        if self.proc is None:
            self._start()
        request = {"argv": args, "cwd": str(cwd or self.workdir), "env": env or {},
                   "unset": list(unset)}
        try:
            self._to.write(json.dumps(request) + "\n")
            self._to.flush()
        except BrokenPipeError:
            self._kill()
            return Result(args, None, died=True)
        end = time.monotonic() + deadline
        while b"\n" not in self._buf:
            left = end - time.monotonic()
            ready, _, _ = select.select([self._from], [], [], max(0.0, left))
            if not ready:
                self._kill()
                return Result(args, None, seconds=deadline, hung=True)
            chunk = os.read(self._from, 1 << 16)
            if not chunk:
                self._kill()
                return Result(args, None, died=True)
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        a = json.loads(line)
        return Result(args, a["code"], a["stdout"], a["stderr"], a["seconds"], a["crash"])


# --- invariants ---------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "other"
    return out


@dataclass
class Outside:
    """A directory of victim files a hostile input may point at; must end as it began."""

    root: Path
    before: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        victim = self.root / "victim.txt"
        if not victim.exists():
            victim.write_text("precious: must never be overwritten\n")
        self.before = _tree(self.root)

    @property
    def victim(self) -> Path:
        return self.root / "victim.txt"

    def unchanged(self) -> bool:
        return _tree(self.root) == self.before


def check(result: Result, code: int | tuple[int, ...], *, outside: Outside | None = None,
          lines: int | None = 1, says: str | None = None, seconds: float | None = None) -> None:
    """The invariants of a hostile case (see the module docstring)."""
    where = f"{' '.join(result.argv)}\n--- stdout\n{result.stdout[-2000:]}\n--- stderr\n" \
            f"{result.stderr[-2000:]}\n--- crash\n{result.crash}"
    assert not result.hung, f"hung (killed after its deadline): {where}"
    assert not result.died, f"the worker died (memory limit or a crash): {where}"
    assert result.crash is None, f"escaped main: {where}"
    codes = code if isinstance(code, tuple) else (code,)
    assert result.code in codes, f"exit {result.code}, expected {codes}: {where}"
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, where
    if lines is not None:
        assert len(result.err_lines) == lines, f"{len(result.err_lines)} lines on stderr: {where}"
        if lines == 1 and result.code:
            assert result.err_lines[0].startswith("reprocal: "), where
    if says is not None:
        assert says in result.stderr + result.stdout, f"does not say {says!r}: {where}"
    if seconds is not None:
        assert result.seconds < seconds, f"took {result.seconds:.1f} s (> {seconds}): {where}"
    if outside is not None:
        assert outside.unchanged(), f"wrote outside its place: {where}"
    if os.environ.get("REPROCAL_HOSTILE_SHOW"):
        print(f"\n[{result.code}] {' '.join(result.argv[-6:])[-120:]}\n    {result.stderr.strip()[:300]}")
