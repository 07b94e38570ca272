"""The merged filesystem view of image layers (``reprocal.image._rootfs``)."""

from __future__ import annotations

import io
import tarfile

import pytest

from reprocal.image._rootfs import MergedView, normalise


def _add(view: MergedView, name: str, layer: int, kind: bytes = tarfile.REGTYPE,
         link: str = "", data: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    view.add(info, layer, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


@pytest.mark.parametrize(("name", "expected"), [
    ("/ccf/X", "ccf/X"), ("./ccf/X", "ccf/X"), ("etc/../ccf/X", "ccf/X"),
    ("../../ccf/X", "ccf/X"), ("a/./b//c", "a/b/c"), ("/", ""), (".", ""),
])
def test_names_are_normalised_as_runtimes_do(name, expected):
    assert normalise(name) == expected


def test_a_link_among_the_parents_is_followed_into_ccf():
    v = MergedView()
    _add(v, "data", 0, tarfile.SYMTYPE, "/ccf")
    _add(v, "a/rel", 0, tarfile.SYMTYPE, "../etc/../ccf")
    _add(v, "data/X", 1)
    _add(v, "a/rel/Y", 1)
    assert sorted(v.files) == ["ccf/X", "ccf/Y"]


def test_whiteouts_remove_lower_layers_only():
    v = MergedView()
    _add(v, "ccf/A", 0)
    _add(v, "ccf/B", 0)
    _add(v, "ccf/.wh.A", 1)
    assert sorted(v.files) == ["ccf/B"]
    _add(v, "ccf/C", 2)
    _add(v, "ccf/.wh..wh..opq", 2)  # opaque: what lower layers put there goes, C stays
    assert sorted(v.files) == ["ccf/C"]


def test_a_file_replaces_a_link_and_a_link_loop_is_recorded():
    v = MergedView()
    _add(v, "data", 0, tarfile.SYMTYPE, "/ccf")
    _add(v, "data", 1)  # a regular file now: later data/X is no longer under /ccf
    _add(v, "loop", 1, tarfile.SYMTYPE, "loop")
    _add(v, "loop/x", 2)
    assert v.files == {} and v.loops == ["loop/x"]


def test_touching_finds_links_that_point_into_ccf_and_hashes_watched_files():
    v = MergedView(keep=10)
    _add(v, "opt/cal", 0, tarfile.SYMTYPE, "/ccf/X")
    _add(v, "ccf/X", 0, data=b"hello")
    hits = {(e.path, r) for e, r in v.touching()}
    assert hits == {("ccf/X", "ccf/X"), ("opt/cal", "ccf/X")}
    assert v.files["ccf/X"].data == b"hello" and v.files["ccf/X"].sha256 is not None
