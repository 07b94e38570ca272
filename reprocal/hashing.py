"""Streaming sha256 of files (placeholder until the parallel engine lands)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor


def sha256_file(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def hash_files(paths: Iterable[str | os.PathLike[str]], *, jobs: int | None = None,
               progress: object | None = None) -> dict[str, str | Exception]:
    paths = [os.fspath(p) for p in paths]
    out: dict[str, str | Exception] = {}

    def one(p: str) -> tuple[str, str | Exception]:
        try:
            return p, sha256_file(p)
        except OSError as exc:
            return p, exc

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
        for p, r in pool.map(one, paths):
            out[p] = r
            if progress is not None:
                progress.update(1)  # type: ignore[attr-defined]
    return out
