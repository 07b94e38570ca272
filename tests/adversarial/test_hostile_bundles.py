"""Hostile paper bundles for ``reprocal bundle verify``.

A tarball is never unpacked (it is streamed): members that escape (``..``, absolute names),
links, devices and FIFOs are problems and never written anywhere; a gzip bomb stops at the
``unpacked-size`` limit; a FIFO or ``/dev/zero`` given as the bundle, or lying inside a bundle
directory, is refused before it is read. Exit 1 (a check failed) for a bundle that is not as it
was written, 2 for something that is not a bundle at all; one line on stderr, nothing outside.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support.hostile import check
from support.imagekit import make_state

from reprocal.bundle._credits import Credits, License, Organization, Person
from reprocal.bundle._write import make_bundle
from reprocal.state._manifest import save_manifest


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle directory (and its ``.tar`` beside it)."""
    root = tmp_path_factory.mktemp("hostile-bundle")
    manifest, _ = make_state(root / "repo")
    path = save_manifest(manifest, root / "manifest.json")
    esac = Organization("ESA ESAC", "https://www.cosmos.esa.int/web/esac")
    make_bundle(path, root / "bundle", credits=Credits(
        License("CC-BY-4.0"), (Person("Jane Doe", "jane@example.org"),), esac, esac))
    return root / "bundle"


def _retar(source: Path, out: Path, extra: Callable[[tarfile.TarFile], None] | None = None,
           compress: bool = False) -> Path:
    """The bundle's tar again, with ``extra`` members added."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(source, arcname="bundle")
        if extra is not None:
            extra(tar)
    data = buf.getvalue()
    out.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    return out


def _member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"evil",
            link: str = "") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return add


def _bomb(tar: tarfile.TarFile) -> None:
    info = tarfile.TarInfo("bundle/records/zeros.bin")
    info.size = 64 << 20
    tar.addfile(info, io.BytesIO(b"\0" * info.size))


TARS: dict[str, tuple[int, Callable[[Path, Path], Path]]] = {
    "member-escaping-with-dotdot": (1, lambda b, o: _retar(b, o, _member("bundle/../../outside/victim.txt"))),
    "member-absolute": (1, lambda b, o: _retar(b, o, _member("/tmp/reprocal-hostile-abs"))),
    "member-symlink-out": (1, lambda b, o: _retar(b, o, _member(
        "bundle/records/x.json", tarfile.SYMTYPE, link="/etc/passwd"))),
    "member-hardlink-out": (1, lambda b, o: _retar(b, o, _member(
        "bundle/records/y.json", tarfile.LNKTYPE, link="../outside/victim.txt"))),
    "member-device": (1, lambda b, o: _retar(b, o, _member("bundle/dev", tarfile.CHRTYPE))),
    "member-fifo": (1, lambda b, o: _retar(b, o, _member("bundle/pipe", tarfile.FIFOTYPE))),
    "member-added": (1, lambda b, o: _retar(b, o, _member("bundle/extra.txt"))),
    "gzip-bomb": (2, lambda b, o: _retar(b, o, _bomb, compress=True)),
    "two-top-directories": (2, lambda b, o: _retar(b, o, _member("other/file.txt"))),
    "truncated-tar": (2, lambda b, o: _truncate(_retar(b, o), 3000)),
    "truncated-gzip": (2, lambda b, o: _truncate(_retar(b, o, compress=True), 300)),
    "not-a-tar": (2, lambda b, o: _text(o, "this is not a tar\n" * 100)),
    "gzip-of-garbage": (2, lambda b, o: _raw(o, gzip.compress(b"garbage" * 1000))),
    "empty": (2, lambda b, o: _raw(o, b"")),
}


def _truncate(p: Path, n: int) -> Path:
    p.write_bytes(p.read_bytes()[:n])
    return p


def _text(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


def _raw(p: Path, data: bytes) -> Path:
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("case", sorted(TARS))
def test_a_hostile_bundle_tar_is_never_unpacked(runner, box, outside, bundle, case):
    code, make = TARS[case]
    tar = make(bundle, box / "bundle.tar")
    r = runner("--limit", "unpacked-size=4MiB", "bundle", "verify", tar, cwd=box,
               env={"TMPDIR": str(box / "tmp")})
    check(r, code, outside=outside, seconds=15,
          says="expands past the limit of 4194304 bytes" if case == "gzip-bomb" else None)
    assert not Path("/tmp/reprocal-hostile-abs").exists()
    assert not (box / "tmp").exists() or not any((box / "tmp").iterdir())


@pytest.mark.parametrize("compress", [False, True])
def test_the_real_bundle_tar_verifies(runner, box, outside, bundle, compress):
    tar = _retar(bundle, box / "bundle.tar", compress=compress)
    r = runner("bundle", "verify", tar, cwd=box)
    check(r, 0, outside=outside, lines=0, says="all")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "symlink-to-fifo", "missing"])
def test_a_bundle_that_is_not_a_file_or_directory_is_refused(runner, box, outside, kind):
    path = box / "bundle.tar"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    elif kind == "symlink-to-fifo":
        os.mkfifo(box / "pipe")
        path.symlink_to(box / "pipe")
    r = runner("bundle", "verify", path, cwd=box)
    check(r, 2, outside=outside, seconds=10)


INSIDE: dict[str, Callable[[Path, Path], None]] = {
    "fifo-record": lambda d, v: os.mkfifo(d / "records" / "run.prov.json"),
    "dev-zero-cif": lambda d, v: _replace_link(next((d / "cif").glob("*/ccf.cif")), "/dev/zero"),
    "link-outside-manifest": lambda d, v: _replace_link(d / "manifest.json", str(v)),
    "huge-manifest": lambda d, v: (d / "manifest.json").write_bytes(b" " * (2 << 20)),
    "tampered-cif": lambda d, v: next((d / "cif").glob("*/ccf.cif")).write_bytes(b"SIMPLE"),
    "sums-line-escaping": lambda d, v: (d / "SHA256SUMS").write_text(
        "0" * 64 + "  ../outside/victim.txt\n"),
}


def _replace_link(p: Path, target: str) -> None:
    p.unlink()
    p.symlink_to(target)


@pytest.mark.parametrize("case", sorted(INSIDE))
def test_a_hostile_bundle_directory_is_checked_without_hanging(runner, box, outside, bundle, case):
    d = box / "bundle"
    shutil.copytree(bundle, d)
    (d / "records").mkdir(exist_ok=True)
    INSIDE[case](d, outside.victim)
    r = runner("--limit", "document-size=1MiB", "bundle", "verify", d, cwd=box)
    check(r, 1, outside=outside, seconds=10)
