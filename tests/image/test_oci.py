"""The deterministic tar/OCI writer and the image tar reader."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from reprocal.errors import HashMismatchError, InputError, LocalIOError
from reprocal.image._archive import read_image_tar
from reprocal.image._layers import LayerFile
from reprocal.image._oci import (
    MEDIA_LAYER_GZIP,
    Blob,
    canonical_json,
    epoch_of,
    image_docs,
    measure_layer,
    qualify,
    resolve_epoch,
    write_image_tar,
)
from reprocal.image._tarstream import layer_chunks


def _lf(path: str, data: bytes) -> LayerFile:
    return LayerFile(path, data, len(data), hashlib.sha256(data).hexdigest())


def _tiny(out: Path, *, gz: bool = False) -> tuple[str, str]:
    """A tiny fixed image: one layer with two files, a fixed config. Returns (manifest, tar)."""
    layer = measure_layer([_lf("ccf/sub/b.txt", b"world\n"), _lf("ccf/a.txt", b"hello\n")],
                          1234567890, gzip=gz)
    config = canonical_json({
        "architecture": "amd64", "os": "linux", "created": "2009-02-13T23:31:30Z",
        "config": {"Env": ["SAS_CCFPATH=/ccf"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    })
    docs = image_docs(config, [layer.descriptor], name="ccf:golden")
    tar_sha = write_image_tar(out, [layer.blob], docs, mtime=1234567890)
    return docs.manifest_digest, tar_sha


def test_golden_digest(tmp_path):
    """A fixed tiny image has these exact digests: any drift in the writer shows here."""
    manifest, tar = _tiny(tmp_path / "golden.tar")
    assert manifest == "sha256:950687e0fbd24b57834a202a7cc312b02e658f9bd8ff156906cd5738eac303d5"
    assert tar == "cce858e394e94146ea276e428903c4c321d3dbd3b9089a5234f68dd03a7dd5b4"
    assert hashlib.sha256((tmp_path / "golden.tar").read_bytes()).hexdigest() == tar


def test_layer_entries_are_normalised():
    """Sorted by path, parents first, uid/gid 0, no names, fixed modes, one integer mtime, PAX."""
    data = b"".join(layer_chunks([_lf("ccf/z.CCF", b"1"), _lf("ccf/a/b.cif", b"22"),
                                  LayerFile("bin/sh", b"x", 1, hashlib.sha256(b"x").hexdigest(),
                                            executable=True)], 77))
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = tf.getmembers()
        assert tf.pax_headers == {}
    assert [m.name for m in members] == ["bin", "bin/sh", "ccf", "ccf/a", "ccf/a/b.cif", "ccf/z.CCF"]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 77)}
    assert [oct(m.mode) for m in members] == ["0o755", "0o755", "0o755", "0o755", "0o644", "0o644"]
    assert len(data) % tarfile.RECORDSIZE == 0


@pytest.mark.parametrize(("path", "message"), [
    ("/abs", "tar entry '/abs' is not a plain relative path"),
    ("a/../b", "tar entry 'a/../b' is not a plain relative path"),
    ("a//b", "tar entry 'a//b' is not a plain relative path"),
    ("", "tar entry '' is not a plain relative path"),
])
def test_layer_paths_must_be_plain_and_relative(path, message):
    """No absolute paths, no '..', no empty components."""
    with pytest.raises(InputError) as err:
        b"".join(layer_chunks([_lf(path, b"x")], 0))
    assert err.value.message == message


def test_float_mtime_is_refused():
    """A float mtime would make tarfile write sub-second PAX headers."""
    with pytest.raises(InputError, match=r"^tar mtime must be an integer, got 1\.5$"):
        b"".join(layer_chunks([_lf("a", b"x")], 1.5))  # type: ignore[arg-type]


def test_file_not_matching_its_pin_aborts(tmp_path):
    """A file whose bytes differ from the pinned sha256 stops the layer."""
    f = tmp_path / "EPN_X_0001.CCF"
    f.write_bytes(b"abc")
    bad = LayerFile("ccf/EPN_X_0001.CCF", f, 3, hashlib.sha256(b"abd").hexdigest())
    with pytest.raises(HashMismatchError) as err:
        measure_layer([bad], 0)
    assert err.value.actual == hashlib.sha256(b"abc").hexdigest()
    short = LayerFile("ccf/EPN_X_0001.CCF", f, 4, hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(HashMismatchError, match="size mismatch: expected 4, got 3"):
        measure_layer([short], 0)


def test_blob_changed_after_measuring_leaves_nothing(tmp_path):
    """If a blob's bytes change between the two passes, the write fails and no tar is left."""
    good = Blob.of_bytes(b"layer")
    liar = Blob(good.digest, good.size, lambda: (b"LAYER",))
    docs = image_docs(b"{}", [], name="x:y")
    out = tmp_path / "img.tar"
    with pytest.raises(HashMismatchError, match="blob digest mismatch"):
        write_image_tar(out, [liar], docs, mtime=0)
    assert list(tmp_path.iterdir()) == []


def test_write_failure_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    """The tar is written by the one atomic writer: a failing rename (disk full) is a
    LocalIOError (exit 7) naming the tar and what to do (not an OSError traceback), and neither
    the tar nor a temporary file is left."""

    def boom(*a: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reprocal.fs._atomic.os.replace", boom)
    out = tmp_path / "img.tar"
    with pytest.raises(LocalIOError) as err:
        write_image_tar(out, [Blob.of_bytes(b"layer")], image_docs(b"{}", [], name="x:y"),
                        mtime=0)
    assert err.value.one_line() == (f"{out}: cannot write: No space left on device; free some "
                                    "space (or point the output elsewhere) and run again")
    assert err.value.exit_code == 7
    assert list(tmp_path.iterdir()) == []


def test_a_write_failing_mid_tar_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    """The tar is written on the thread that hashes it: a write failing part-way (a disk
    filling up) still stops the build with the one line and exit code of a failed write, and
    leaves no file; the blobs after it are not waited on."""
    import contextlib

    from reprocal.fs._atomic import atomic_file
    from reprocal.image import _oci

    @contextlib.contextmanager
    def filling_up(path, **kw):  # type: ignore[no-untyped-def]
        with atomic_file(path, **kw) as fh:
            room = [4096]

            class Full:
                def write(self, data: bytes) -> int:
                    room[0] -= len(data)
                    if room[0] < 0:
                        raise OSError(28, "No space left on device")
                    return fh.write(data)

            yield Full()

    monkeypatch.setattr(_oci, "atomic_file", filling_up)
    out = tmp_path / "img.tar"
    blobs = [Blob.of_bytes(bytes([i]) * 300_000) for i in range(40)]
    with pytest.raises(LocalIOError) as err:
        write_image_tar(out, blobs, image_docs(b"{}", [], name="x:y"), mtime=0)
    assert err.value.one_line() == (f"{out}: cannot write: No space left on device; free some "
                                    "space (or point the output elsewhere) and run again")
    assert err.value.exit_code == 7
    assert list(tmp_path.iterdir()) == []


def test_checked_and_unchecked_blobs_interleave_in_order(tmp_path):
    """Checked blobs are written on the hashing thread, unchecked ones on the caller's: a tar
    mixing them holds the same bytes, in the same order, as one written either way alone."""
    import attrs as _attrs

    datas = [bytes([i]) * (70_000 * (i % 3) + 1000) for i in range(12)]
    mixed = [_attrs.evolve(Blob.of_bytes(d), verify=bool(i % 2)) for i, d in enumerate(datas)]
    docs = image_docs(b"{}", [], name="x:y")
    one = write_image_tar(tmp_path / "mixed.tar", mixed, docs, mtime=0)
    for verify in (True, False):
        same = [_attrs.evolve(Blob.of_bytes(d), verify=verify) for d in datas]
        assert write_image_tar(tmp_path / f"{verify}.tar", same, docs, mtime=0) == one
    assert hashlib.sha256((tmp_path / "mixed.tar").read_bytes()).hexdigest() == one
    assert (tmp_path / "mixed.tar").read_bytes() == (tmp_path / "False.tar").read_bytes()


def test_background_hash_writes_then_hashes_and_hands_back_a_write_error() -> None:
    from reprocal.image._tarstream import BackgroundHash

    got: list[bytes] = []
    h = BackgroundHash(write=got.append)
    for chunk in (b"a" * 5000, b"b", b"c" * 70000):
        h.update(chunk, write=True)
    h.drain()  # every queued chunk written: the producer may write the next one itself
    assert b"".join(got) == b"a" * 5000 + b"b" + b"c" * 70000
    got.append(b"d")
    h.update(b"d")  # hashed only
    h.update(b"e", write=True)
    assert h.hexdigest() == hashlib.sha256(b"".join(got)).hexdigest()
    assert got[-2:] == [b"d", b"e"]

    def broken(_data: bytes) -> None:
        raise OSError(5, "Input/output error")

    h = BackgroundHash(write=broken)
    with pytest.raises(OSError, match="Input/output error"):
        for _ in range(1000):  # more than the queue holds: the producer never blocks
            h.update(b"x" * 1024, write=True)
        h.hexdigest()
    h.close()
    h.close()  # idempotent


def test_gzip_layers_have_a_fixed_header_and_the_same_diff_id(tmp_path):
    """gzip: no name, mtime 0; the DiffID is the digest of the uncompressed layer."""
    files = [_lf("ccf/a.txt", b"hello\n" * 100)]
    plain, gz = measure_layer(files, 5), measure_layer(files, 5, gzip=True)
    assert gz.diff_id == plain.descriptor.digest
    assert gz.descriptor.media_type == MEDIA_LAYER_GZIP
    data = b"".join(gz.blob.chunks())
    assert data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    assert gzip.decompress(data) == b"".join(plain.blob.chunks())
    assert _tiny(tmp_path / "a.tar", gz=True) == _tiny(tmp_path / "b.tar", gz=True)


def test_canonical_json():
    """Sorted keys, compact separators, ASCII escapes; floats are refused."""
    assert canonical_json({"b": [1, "é"], "a": None}) == b'{"a":null,"b":[1,"\\u00e9"]}'
    with pytest.raises(InputError, match=r"^canonical JSON: float at \$\.x\[0\]"):
        canonical_json({"x": [0.5]})


@pytest.mark.parametrize(("env", "expected"), [
    ({}, 99), ({"SOURCE_DATE_EPOCH": "1700000000"}, 1700000000), ({"SOURCE_DATE_EPOCH": ""}, 99),
])
def test_epoch_from_source_date_epoch_or_the_state(env, expected):
    """SOURCE_DATE_EPOCH wins when set; otherwise the state's own date."""
    assert resolve_epoch(env, 99) == expected


def test_bad_source_date_epoch():
    """A non-integer SOURCE_DATE_EPOCH is bad input."""
    with pytest.raises(InputError, match="SOURCE_DATE_EPOCH: 'soon' is not a non-negative integer"):
        resolve_epoch({"SOURCE_DATE_EPOCH": "soon"}, 0)


@pytest.mark.parametrize(("text", "epoch"), [
    ("1970-01-01T00:00:00", 0), ("2014-05-01T00:00:00", 1398902400),
    ("2008-12-31T23:59:60", 1230767999),
])
def test_epoch_of_a_calibration_date(text, epoch):
    """Dates are UTC; a leap second clamps to :59."""
    assert epoch_of(text) == epoch


@pytest.mark.parametrize(("ref", "full"), [
    ("ccf:1", "docker.io/library/ccf:1"), ("me/ccf:1", "docker.io/me/ccf:1"),
    ("127.0.0.1:5000/a/b:1", "127.0.0.1:5000/a/b:1"), ("localhost/a:1", "localhost/a:1"),
])
def test_qualified_names_for_containerd(ref, full):
    """io.containerd.image.name is fully qualified."""
    assert qualify(ref) == full


def test_one_tar_is_oci_layout_and_docker_archive(tmp_path):
    """index.json (with the name annotations), oci-layout and manifest.json in one tar."""
    _tiny(tmp_path / "t.tar")
    img = read_image_tar(tmp_path / "t.tar")
    with tarfile.open(tmp_path / "t.tar") as tf:
        names = tf.getnames()
        index = json.load(tf.extractfile("index.json"))  # type: ignore[arg-type]
        docker = json.load(tf.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names[:2] == ["blobs", "blobs/sha256"]
    assert names[-3:] == ["index.json", "manifest.json", "oci-layout"]
    assert index["manifests"][0]["annotations"] == {
        "io.containerd.image.name": "docker.io/library/ccf:golden",
        "org.opencontainers.image.ref.name": "golden"}
    assert docker[0]["RepoTags"] == ["ccf:golden"]
    assert docker[0]["Layers"] == list(img.layer_paths)
    assert img.layout == "oci" and img.diff_id(0) == img.layers[0].digest


@pytest.mark.parametrize(("content", "message"), [
    (b"not a tar at all" * 100, "not an uncompressed tar"),
    (None, "neither index.json nor manifest.json in the tar"),
])
def test_reader_refuses_non_images(tmp_path, content, message):
    """A file that is not an image tar is refused with one clear line."""
    p = tmp_path / "x.tar"
    if content is None:
        with tarfile.open(p, "w") as tf:
            tf.addfile(tarfile.TarInfo("hello"), io.BytesIO(b""))
    else:
        p.write_bytes(gzip.compress(content))
    with pytest.raises(InputError, match=message):
        read_image_tar(p)


def test_file_changed_between_the_two_passes_is_caught(tmp_path):
    """Measured, then rewritten with the same size: the write refuses it and leaves nothing."""
    f = tmp_path / "in" / "EPN_X_0001.CCF"
    f.parent.mkdir()
    f.write_bytes(b"abc")
    layer = measure_layer([LayerFile("ccf/EPN_X_0001.CCF", f, 3,
                                     hashlib.sha256(b"abc").hexdigest())], 0)
    f.write_bytes(b"abd")
    out = tmp_path / "out"
    out.mkdir()
    docs = image_docs(b"{}", [layer.descriptor], name="x:y")
    with pytest.raises(HashMismatchError) as err:
        write_image_tar(out / "i.tar", [layer.blob], docs, mtime=0)
    assert err.value.one_line() == (
        f"{f}: file identity mismatch: expected unchanged, got modified while the image was "
        "being written; the file is corrupt or a different issue; fetch it again")
    assert list(out.iterdir()) == []
