"""The real programs the tests use (``tests/components.txt``: the Debian package of each and
what it is for), found on ``PATH`` or skipped with one reason.

:func:`program` is the one way a test asks for one: the path of the program, or a skip saying
which program is missing, which package brings it, and that ``make test`` as root installs it.
So a machine without them (no root, no apt) runs every other test and its summary (``pytest
-ra``) lists each skip with that reason; hiding a program from ``PATH`` is enough to see it.
"""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

import pytest

LIST = Path(__file__).resolve().parent.parent / "components.txt"


@cache
def packages() -> dict[str, tuple[str, str]]:
    """Program -> (Debian package, what the tests use it for), from ``tests/components.txt``."""
    out: dict[str, tuple[str, str]] = {}
    for line in LIST.read_text().splitlines():
        fields = line.split("#", 1)[0].split(None, 2)
        if len(fields) == 3:
            package, programs, why = fields
            for name in programs.split(","):
                out[name] = (package, why.strip())
    return out


def missing_reason(name: str) -> str:
    """Why a test that needs ``name`` skips: ``dockerd not found on PATH (Debian package
    docker.io: a private Docker daemon ...; `make test` as root installs it)``."""
    known = packages().get(name)
    if known is None:
        return f"{name} not found on PATH"
    package, why = known
    return (f"{name} not found on PATH (Debian package {package}, for {why}; "
            "`make test` as root installs it)")


def locate(name: str) -> Path | None:
    """The path of ``name`` on ``PATH``, or ``None`` (for a caller that decides itself what a
    missing program means, with :func:`missing_reason` as its reason)."""
    found = shutil.which(name)
    return None if found is None else Path(found)


def program(name: str) -> Path:
    """The path of ``name`` on ``PATH``; the calling test skips when there is none."""
    found = shutil.which(name)
    if found is None:
        pytest.skip(missing_reason(name))
    return Path(found)


def needs(*names: str) -> pytest.MarkDecorator:
    """``@needs("umoci")``: skip the test, with the reason, unless every program is on PATH
    (decided at collection)."""
    absent = [n for n in names if shutil.which(n) is None]
    return pytest.mark.skipif(bool(absent), reason="; ".join(map(missing_reason, absent)))


__all__ = ["locate", "missing_reason", "needs", "packages", "program"]
