"""Streaming, parallel sha256 (reprocal.fs._hashing)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.fs._hashing import hash_files, sha256_file


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 4095, 4096, 4097, 3 * 4096 + 7])
def test_sha256_file_matches_hashlib_at_chunk_boundaries(tmp_path: Path, size: int) -> None:
    """Sizes around the chunk size give the same digest as hashing the bytes at once."""
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert sha256_file(p, chunk=4096) == hashlib.sha256(data).hexdigest()


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=5000), chunk=st.integers(min_value=1, max_value=1024))
def test_sha256_file_any_chunk(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                               chunk: int) -> None:
    """Any chunk size gives the digest of the whole content."""
    p = tmp_path_factory.mktemp("h") / "f"
    p.write_bytes(data)
    assert sha256_file(p, chunk=chunk) == hashlib.sha256(data).hexdigest()


def test_sha256_file_reads_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is never read whole: every read asks for at most ``chunk`` bytes."""
    p = tmp_path / "f"
    p.write_bytes(b"x" * 10_000)
    asked: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, f):  # type: ignore[no-untyped-def]
            self.f = f

        def readinto(self, buf):  # type: ignore[no-untyped-def]
            asked.append(len(buf))
            return self.f.readinto(buf)

        def fileno(self) -> int:
            return self.f.fileno()

        def __enter__(self):  # type: ignore[no-untyped-def]
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

    monkeypatch.setattr("builtins.open", lambda *a, **k: Spy(real_open(*a, **k)))
    sha256_file(p, chunk=1000)
    assert asked and max(asked) == 1000 and len(asked) == 11


def test_hash_files_keys_order_and_errors(tmp_path: Path) -> None:
    """Keys are the given paths (as strings, in order, once); an unreadable file maps to its
    OSError while the others are still hashed."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"aaa")
    b.write_bytes(b"b" * 100_000)
    gone = tmp_path / "gone"
    out = hash_files([b, a, gone, b], jobs=2)
    assert list(out) == [str(b), str(a), str(gone)]
    assert out[str(a)] == hashlib.sha256(b"aaa").hexdigest()
    assert out[str(b)] == hashlib.sha256(b"b" * 100_000).hexdigest()
    assert isinstance(out[str(gone)], FileNotFoundError)


@pytest.mark.parametrize("jobs", [1, 2, 5])
def test_hash_files_same_result_any_jobs(tmp_path: Path, jobs: int) -> None:
    """One thread or several: the same digests, one progress step per file."""
    paths = []
    for i in range(7):
        p = tmp_path / f"f{i}"
        p.write_bytes(bytes([i]) * (i * 1000))
        paths.append(p)

    class Count:
        n = 0

        def update(self, k: int = 1) -> None:
            self.n += k

    progress = Count()
    out = hash_files(paths, jobs=jobs, progress=progress)
    assert out == {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    assert progress.n == 7


def test_hash_files_uses_injected_hasher_in_threads(tmp_path: Path) -> None:
    """An injected hasher replaces sha256_file, and runs on worker threads when jobs > 1."""
    seen: list[tuple[str, str]] = []

    def fake(path: str) -> str:
        seen.append((path, threading.current_thread().name))
        return "0" * 64

    paths = [str(tmp_path / f"f{i}") for i in range(4)]
    assert hash_files(paths, jobs=2, hasher=fake) == {p: "0" * 64 for p in paths}
    assert sorted(p for p, _ in seen) == sorted(paths)
    assert all(name.startswith("sha256") for _, name in seen)


def test_hash_files_empty() -> None:
    """No paths, no work."""
    assert hash_files([]) == {}
