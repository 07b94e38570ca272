"""Real file systems for fault tests: a tiny tmpfs that fills up (root only; skipped with a
reason elsewhere), and a read-only bind of a directory."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> str | None:
    """``None`` when the mount worked, else why not."""
    try:
        proc = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "16k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (created); skips the test when this machine does
    not allow mounting (not root, no tmpfs, in a container without the capability)."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a full-disk test needs root to mount a small tmpfs")
    why = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where))
    if why is not None:
        pytest.skip(f"cannot mount a small tmpfs here: {why}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=20)


def fill(directory: Path) -> None:
    """Fill the file system of ``directory`` to the last byte (a file ``.filler``)."""
    fd = os.open(directory / ".filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with contextlib.suppress(OSError):
            for size in (65536, 4096, 512, 1):
                while os.write(fd, b"\0" * size) == size:
                    pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[Path]:
    """``directory`` remounted read-only in place (a bind mount); skips without root."""
    if os.geteuid() != 0:
        pytest.skip("a read-only file system test needs root for a bind mount")
    why = _mount("--bind", str(directory), str(directory))
    if why is not None:
        pytest.skip(f"cannot bind-mount here: {why}")
    try:
        why = _mount("-o", "remount,bind,ro", str(directory))
        if why is not None:
            pytest.skip(f"cannot remount read-only here: {why}")
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, timeout=20)
