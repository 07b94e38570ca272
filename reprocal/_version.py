"""The version of reprocal: one place, read by packaging (``pyproject.toml``) and by the code.

Kept as a literal so that ``reprocal --version`` costs no ``importlib.metadata`` lookup. Run from
a git checkout (the package's parent directory holds ``.git``), ``reprocal --version`` also names
the commit, read from ``.git`` itself (no ``git`` process): :func:`git_commit`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__version__ = "0.2.0.dev0"

_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")  # sha1, or sha256 repositories
_MAX = 1 << 16
"""Longest ``.git`` file read (HEAD, a ref, a ``gitdir:`` pointer); ``packed-refs`` is read
line by line."""


def _read(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(_MAX).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return None


def _git_dir(checkout: Path) -> Path | None:
    """``checkout/.git``, or where a ``.git`` file (a worktree, a submodule) points."""
    dot = checkout / ".git"
    if dot.is_dir():
        return dot
    text = _read(dot) if dot.is_file() else None
    if text and text.startswith("gitdir:"):
        return (checkout / text[len("gitdir:"):].strip()).resolve()
    return None


def _resolve(gitdir: Path, ref: str) -> str | None:
    """The commit a ref names: a loose ref (in the worktree's directory or the common one), else
    a line of ``packed-refs``."""
    common = gitdir
    pointer = _read(gitdir / "commondir")
    if pointer:
        common = (gitdir / pointer).resolve()
    if ref.startswith("/") or ".." in ref.split("/"):
        return None
    for where in (gitdir, common):
        text = _read(where / ref)
        if text and _SHA.fullmatch(text):
            return text
    try:
        with open(common / "packed-refs", "rb") as f:
            for raw in f:
                sha, _, name = raw.decode("utf-8", "replace").strip().partition(" ")
                if name == ref and _SHA.fullmatch(sha):
                    return sha
    except (OSError, ValueError):
        pass
    return None


def git_commit(checkout: str | os.PathLike[str] | None = None) -> str | None:
    """The commit checked out at ``checkout`` (default: the directory holding the ``reprocal``
    package, which is a checkout only when reprocal runs from its source tree), or ``None``: not
    a checkout, or a ``.git`` this cannot read. Never runs ``git``."""
    root = Path(checkout) if checkout is not None else Path(__file__).resolve().parent.parent
    gitdir = _git_dir(root)
    if gitdir is None:
        return None
    head = _read(gitdir / "HEAD")
    if not head:
        return None
    if _SHA.fullmatch(head):  # a detached HEAD
        return head
    if head.startswith("ref:"):
        return _resolve(gitdir, head[len("ref:"):].strip())
    return None


def version_text(checkout: str | os.PathLike[str] | None = None) -> str:
    """What ``reprocal --version`` prints: ``reprocal 0.2.0`` and, from a checkout, ``(git
    <commit>)``."""
    commit = git_commit(checkout)
    return f"reprocal {__version__}" + (f" (git {commit})" if commit else "")
