"""One ``reprocal`` invocation, as a test runs it: in this process (the default, fast, and seen
by coverage) or as a real ``python -m reprocal`` process (signals, terminals, a fresh
interpreter). Both answer with a :class:`subprocess.CompletedProcess` (``returncode``,
``stdout``, ``stderr``), so a test cannot tell which one ran it except by what only a process
has.

In this process, :func:`in_process` calls :func:`reprocal.cli.main` (the entry point
``python -m reprocal`` calls, with its exception -> exit-code mapping) under click's
``CliRunner`` isolation, and gives the command what a fresh process would have:

- ``env`` on top of ``os.environ``; ``cwd`` as the working directory; ``input`` as stdin
  (empty when ``None``); ``sys.argv`` as ``python -m reprocal ARGS`` sets it;
- the warnings filters of a fresh interpreter (not the test run's ``error``), the logging
  configuration of one (no handlers: warnings reach stderr through logging's last resort);
- a terminal size read from ``$COLUMNS`` or 80, as for a process whose stdout is a pipe;
- the exit status as the interpreter would make it: ``SystemExit`` codes, 1 and a traceback on
  stderr for an exception nothing caught, modulo 256.

and afterwards puts back everything it changed or the command might have: ``os.environ``, the
working directory, ``sys.argv``, the warnings filters, logging's handlers and levels, signal
handlers, the standard streams.

What it cannot give: output a child process writes straight to the inherited file descriptors
(``reprocal run``'s command) goes to the test's own stdout, not to the result's; a stdin that is
a terminal; signals; anything decided at import time. Tests of those use :func:`as_process`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

StrPath = str | os.PathLike[str]

_MAIN = importlib.util.find_spec("reprocal.__main__")
ARGV0 = str(_MAIN.origin) if _MAIN is not None and _MAIN.origin else "reprocal"
"""``sys.argv[0]`` of ``python -m reprocal``: the path of ``reprocal/__main__.py``."""


def as_process(*args: StrPath, env: Mapping[str, str] | None = None, cwd: StrPath | None = None,
               input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reprocal ARGS`` as a user would, with the reprocal this environment has
    installed (the source tree is not put on the path)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "reprocal", *map(str, args)], capture_output=True, text=True,
        env=full_env, cwd=cwd, input=input, timeout=timeout,
    )


def in_process(*args: StrPath, env: Mapping[str, str] | None = None, cwd: StrPath | None = None,
               input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``reprocal ARGS`` in this process, as :func:`as_process` would in a new one."""
    from click import formatting
    from click.testing import CliRunner

    from reprocal.cli import main

    argv = [os.fspath(a) for a in args]
    with _fresh_process_state(argv, cwd), CliRunner().isolation(input=input, env=env) as streams:
        out, err = streams[0], streams[1]
        formatting.FORCED_WIDTH = None  # help is as wide as $COLUMNS says (isolation puts it back)
        code = _exit_status(main, argv)
        sys.stdout.flush()
        sys.stderr.flush()
        stdout, stderr = _text(out.getvalue()), _text(err.getvalue())
    return subprocess.CompletedProcess(["reprocal", *argv], code, stdout, stderr)


def _exit_status(main: Any, argv: list[str]) -> int:
    """What the interpreter makes of ``raise SystemExit(main(argv))``."""
    try:
        code: object = main(argv)
    except SystemExit as exc:
        code = exc.code
    except Exception:  # nothing caught it: the interpreter prints the traceback, exits 1
        traceback.print_exc()
        return 1
    if code is None:
        return 0
    if isinstance(code, int):
        return code % 256
    print(code, file=sys.stderr)
    return 1


def _text(data: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` decodes: universal newlines."""
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


@contextlib.contextmanager
def _fresh_process_state(argv: list[str], cwd: StrPath | None) -> Iterator[None]:
    environ = dict(os.environ)
    old_cwd = os.getcwd()
    old_argv = sys.argv
    old_terminal_size = os.get_terminal_size
    handlers = _signal_handlers()
    try:
        with warnings.catch_warnings(), _fresh_logging():
            warnings.resetwarnings()
            for action, message, category, module, lineno in fresh_warning_filters():
                warnings.filterwarnings(action, message, category, module, lineno,  # type: ignore[arg-type]
                                        append=True)
            if cwd is not None:
                os.chdir(cwd)
            sys.argv = [ARGV0, *argv]
            os.get_terminal_size = _piped_terminal_size  # type: ignore[assignment]
            yield
    finally:
        os.get_terminal_size = old_terminal_size
        sys.argv = old_argv
        os.chdir(old_cwd)
        if dict(os.environ) != environ:
            os.environ.clear()
            os.environ.update(environ)
        for signum, handler in handlers.items():
            if signal.getsignal(signum) is not handler:
                signal.signal(signum, handler)


def _piped_terminal_size(fd: int = 1) -> os.terminal_size:
    """Standard streams are pipes in a process the tests start: no terminal to ask."""
    raise OSError("not a terminal")


def _signal_handlers() -> dict[int, Any]:
    out: dict[int, Any] = {}
    for signum in signal.valid_signals():
        try:
            handler = signal.getsignal(signum)
        except (OSError, ValueError):
            continue
        if handler is not None:
            out[int(signum)] = handler
    return out


@contextlib.contextmanager
def _fresh_logging() -> Iterator[None]:
    """No handlers anywhere, root at WARNING, as a process that never configured logging; the
    test run's handlers (pytest's capture) and levels come back afterwards."""
    manager = logging.root.manager
    loggers = [logging.root, *(lg for lg in manager.loggerDict.values()
                               if isinstance(lg, logging.Logger))]
    saved = {id(lg): (lg, lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers}
    disable = manager.disable
    try:
        for lg in loggers:
            lg.handlers = []
        logging.root.setLevel(logging.WARNING)
        logging.disable(logging.NOTSET)
        yield
    finally:
        logging.disable(disable)
        for node in (logging.root, *manager.loggerDict.values()):
            if not isinstance(node, logging.Logger):
                continue
            lg = node
            if id(lg) in saved:
                _, handlers, level, propagate, disabled = saved[id(lg)]
                lg.handlers, lg.level, lg.propagate, lg.disabled = handlers, level, propagate, disabled
            else:
                lg.handlers = []
        manager._clear_cache()  # type: ignore[attr-defined]


@functools.cache
def fresh_warning_filters() -> tuple[tuple[str, str, type[Warning], str, int], ...]:
    """The warnings filters a new ``python`` with this environment starts with (asked of one,
    once): the interpreter's defaults, then ``-W``/``$PYTHONWARNINGS`` if set."""
    code = ("import warnings, json; p = lambda r: getattr(r, 'pattern', r) or ''; "
            "print(json.dumps([(a, p(m), c.__module__, c.__qualname__, p(mod), n) "
            "for a, m, c, mod, n in warnings.filters]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    return tuple((action, message, _category(module, name), mod, lineno)
                 for action, message, module, name, mod, lineno in json.loads(done.stdout))


def _category(module: str, qualname: str) -> type[Warning]:
    import importlib

    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


__all__ = ["ARGV0", "as_process", "fresh_warning_filters", "in_process"]
