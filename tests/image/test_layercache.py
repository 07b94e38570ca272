"""The layer cache: the next state's image copies unchanged layers, byte for byte the image a
build without the cache writes; a cache that is damaged, raced or planted with links is a miss,
never a wrong layer; a cache that cannot be written never fails the build."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pytest
from support.imagekit import fake_cifs, make_state

from reprocal.errors import CheckFailed, HashMismatchError, InputError
from reprocal.image._build import build_image
from reprocal.image._layercache import LayerCache, layer_key
from reprocal.image._layers import LayerFile
from reprocal.image._verify import verify_image

NEXT = {("EPN", "REDIST"): 2}  # the next state: a new issue of one type


def _build(tmp: Path, name: str, issues=None, **kw):
    manifest, repo = make_state(tmp / "repo", issues)
    return build_image(manifest, [repo], tmp / name, cifs=fake_cifs(manifest), **kw)


def _blobs(cache: Path) -> list[Path]:
    return sorted((cache / "blobs" / "sha256").iterdir())


def test_the_next_state_reuses_every_unchanged_layer_and_is_the_same_image(tmp_path):
    cache = tmp_path / "cache"
    first = _build(tmp_path / "a", "a.tar", layer_cache=cache)
    assert first.layers_cached == 0
    ours = len(first.layers)
    assert len(_blobs(cache)) == ours and len(list((cache / "layers").iterdir())) == ours

    again = _build(tmp_path / "a", "again.tar", layer_cache=cache)
    assert again.layers_cached == ours and again.tar_sha256 == first.tar_sha256

    nxt = _build(tmp_path / "b", "b.tar", issues=NEXT, layer_cache=cache)
    plain = _build(tmp_path / "c", "c.tar", issues=NEXT)
    assert nxt.tar_sha256 == plain.tar_sha256  # the cache never changes a byte
    assert nxt.layers_cached == ours - 2  # the changed type's group and the top layer
    assert verify_image(nxt.path).ok
    assert hashlib.sha256(nxt.path.read_bytes()).hexdigest() == nxt.tar_sha256


def test_gzip_builds_do_not_use_the_cache(tmp_path):
    """A gzip layer's DiffID could not be checked on its way in from a cache: not cached."""
    cache = tmp_path / "cache"
    plain = _build(tmp_path, "p.tar", layer_cache=cache)
    entries = sorted((cache / "layers").iterdir())
    gz = _build(tmp_path, "g.tar", layer_cache=cache, gzip=True)
    assert gz.layers_cached == 0 and gz.tar_sha256 != plain.tar_sha256
    assert sorted((cache / "layers").iterdir()) == entries
    assert verify_image(gz.path).ok


def test_the_key_is_what_decides_the_bytes():
    def lf(path: str, data: bytes, executable: bool = False) -> LayerFile:
        return LayerFile(path, Path("/nowhere"), len(data), hashlib.sha256(data).hexdigest(),
                         executable)

    one = [lf("ccf/A.CCF", b"a")]
    assert layer_key(one, 1) == layer_key([lf("ccf/A.CCF", b"a")], 1)
    others = [layer_key([lf("ccf/B.CCF", b"a")], 1), layer_key([lf("ccf/A.CCF", b"b")], 1),
              layer_key([lf("ccf/A.CCF", b"a", True)], 1), layer_key(one, 2)]
    assert len({layer_key(one, 1), *others}) == 5


def test_the_key_follows_the_writers_format(monkeypatch):
    """A change to how tar headers are written changes every key: no layer of the old format
    is ever copied into an image of the new."""
    import reprocal.image._layercache as lc

    files = [LayerFile("ccf/A.CCF", Path("/nowhere"), 1, "0" * 64)]
    before = layer_key(files, 1)
    real = lc.tar_header

    def other(*a, **k):  # as a tarfile that wrote another field would
        return real(*a, **k).replace(b"ustar", b"ustaR", 1)

    monkeypatch.setattr(lc, "tar_header", other)
    lc._writer_format.cache_clear()
    try:
        assert layer_key(files, 1) != before
    finally:
        monkeypatch.undo()
        lc._writer_format.cache_clear()
    assert layer_key(files, 1) == before


def _damage_each(cache: Path, how: str) -> None:
    for blob in _blobs(cache):
        if how == "rewritten in place":  # same size, other bytes: its ctime moves
            os.chmod(blob, 0o644)
            data = bytearray(blob.read_bytes())
            data[-1] ^= 1
            blob.write_bytes(bytes(data))
        elif how == "removed":
            blob.unlink()
        elif how == "a link planted in its place":
            decoy = cache.parent / f"decoy-{blob.name}"
            decoy.write_bytes(blob.read_bytes())
            blob.unlink()
            blob.symlink_to(decoy)
        elif how == "a FIFO planted in its place":
            blob.unlink()
            os.mkfifo(blob)
    for entry in (cache / "layers").iterdir():
        if how == "entry not JSON":
            entry.write_bytes(b"\x00garbage")
        elif how == "entry of another shape":
            entry.write_text(json.dumps({"digest": "sha256:" + "0" * 64}))
        elif how == "entry too large":  # the cache's own entry, padded past the limit
            entry.write_bytes(entry.read_bytes() + b" " * 10_000)
        elif how == "entry nested deeply":
            entry.write_bytes(b"[" * 4000)


@pytest.mark.parametrize("how", ["rewritten in place", "removed", "a link planted in its place",
                                 "a FIFO planted in its place", "entry not JSON",
                                 "entry of another shape", "entry too large",
                                 "entry nested deeply"])
def test_a_damaged_cache_is_a_miss_and_is_mended(tmp_path, how):
    cache = tmp_path / "cache"
    first = _build(tmp_path, "a.tar", layer_cache=cache)
    _damage_each(cache, how)
    again = _build(tmp_path, "b.tar", layer_cache=cache)
    assert again.layers_cached == 0 and again.tar_sha256 == first.tar_sha256
    assert all(p.is_file() and not p.is_symlink() for p in _blobs(cache))
    assert _build(tmp_path, "c.tar", layer_cache=cache).layers_cached == len(first.layers)


def test_a_blob_changed_without_a_trace_fails_the_build_naming_it(tmp_path):
    """Bytes changed with the identity kept (mtime and ctime put back are beyond a user, but a
    disk error is not): the copy is hashed on its way into the image, so it is refused."""
    cache = tmp_path / "cache"
    _build(tmp_path, "a.tar", layer_cache=cache)
    c = LayerCache(cache)
    manifest, repo = make_state(tmp_path / "repo")
    victim = max(_blobs(cache), key=lambda p: p.stat().st_size)
    # the entry's recorded identity follows the damage, as an undetected disk error would
    for entry in (cache / "layers").iterdir():
        doc = json.loads(entry.read_text())
        if doc["digest"].endswith(victim.name):
            os.chmod(victim, 0o644)
            data = bytearray(victim.read_bytes())
            data[600] ^= 1
            victim.write_bytes(bytes(data))
            st = os.lstat(victim)
            doc["identity"] = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
            entry.write_text(json.dumps(doc))
    del c
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CheckFailed) as err:
        build_image(manifest, [repo], out / "x.tar", cifs=fake_cifs(manifest), layer_cache=cache)
    assert str(err.value).startswith(f"{victim}: layer cache: the cached layer sha256:"
                                     f"{victim.name} is damaged (blob digest mismatch")
    assert "run the build again" in str(err.value)
    assert list(out.iterdir()) == [] and not victim.exists()  # removed: the next build mends it
    again = build_image(manifest, [repo], out / "x.tar", cifs=fake_cifs(manifest),
                        layer_cache=cache)
    assert verify_image(again.path).ok and victim.exists()


def test_a_failed_build_enters_nothing(tmp_path):
    cache = tmp_path / "cache"
    manifest, repo = make_state(tmp_path / "repo")
    victim = repo / manifest.files[-1].filename
    data = bytearray(victim.read_bytes())
    data[0] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(HashMismatchError):
        build_image(manifest, [repo], tmp_path / "x.tar", cifs=fake_cifs(manifest),
                    layer_cache=cache)
    assert _blobs(cache) == [] and list((cache / "layers").iterdir()) == []


@pytest.mark.parametrize("where", ["blob", "entry"])
def test_a_cache_that_cannot_be_written_never_fails_the_build(tmp_path, monkeypatch, where):
    """A full disk under the cache (writes to /dev/full: ENOSPC from the kernel): the image is
    written and verifies; the cache holds no partial blob and no entry."""
    import reprocal.image._layercache as lc

    def full_fd(*_a, **_k) -> int:
        return os.open("/dev/full", os.O_WRONLY)

    @contextlib.contextmanager
    def full_file(_path, **_k):
        with open("/dev/full", "wb") as f:
            yield f

    if where == "blob":
        monkeypatch.setattr(lc, "open_private", full_fd)
    else:
        monkeypatch.setattr(lc, "atomic_file", full_file)
    cache = tmp_path / "cache"
    r = _build(tmp_path, "a.tar", layer_cache=cache)
    assert verify_image(r.path).ok and list((cache / "layers").iterdir()) == []
    if where == "blob":
        assert _blobs(cache) == []
    monkeypatch.undo()
    assert _build(tmp_path, "b.tar", layer_cache=cache).tar_sha256 == r.tar_sha256


@pytest.mark.parametrize("kind", ["file", "link to a directory inside"])
def test_a_cache_path_that_is_not_a_directory_is_refused(tmp_path, kind):
    cache = tmp_path / "cache"
    if kind == "file":
        cache.write_text("x")
        where = cache
    else:
        cache.mkdir()
        (tmp_path / "elsewhere").mkdir()
        (cache / "layers").symlink_to(tmp_path / "elsewhere")
        where = cache / "layers"
    with pytest.raises(InputError) as err:
        _build(tmp_path, "a.tar", layer_cache=cache)
    assert str(where) in str(err.value) and "not a directory" in str(err.value)
    assert list((tmp_path / "elsewhere").iterdir() if kind != "file" else []) == []


def _one_layer(cache: LayerCache) -> tuple[list[LayerFile], bytes]:
    """A layer of two in-memory files built through the cache and entered; its bytes."""
    from reprocal.image._oci import measure_layer

    files = [LayerFile(f"ccf/{n}.CCF", d, len(d), hashlib.sha256(d).hexdigest())
             for n, d in (("A", b"a" * 5000), ("B", b"b" * 3))]
    layer = cache.storing(files, 1, measure_layer(files, 1))
    data = b"".join(layer.blob.chunks())
    cache.commit()
    return files, data


def test_a_blob_gone_before_its_copy_begins_is_built_from_its_files(tmp_path):
    """Another hand empties the cache between the plan and the copy: the layer comes from its
    files (checked against their pins as ever), with the same bytes."""
    cache = LayerCache(tmp_path / "cache")
    files, data = _one_layer(cache)
    hit = cache.get(files, 1)
    assert hit is not None and cache.hits == 1
    for blob in _blobs(tmp_path / "cache"):
        blob.unlink()
    assert b"".join(hit.blob.chunks()) == data and cache.hits == 0
    assert "sha256:" + hashlib.sha256(data).hexdigest() == hit.descriptor.digest


def test_builds_sharing_a_cache_never_replace_a_good_blob(tmp_path):
    """A second build that missed the same layer (its entry lost) keeps the blob another build
    may be copying: same inode; the new entry names it."""
    cache = LayerCache(tmp_path / "cache")
    files, _ = _one_layer(cache)
    (blob,) = _blobs(tmp_path / "cache")
    inode = blob.stat().st_ino
    for entry in (tmp_path / "cache" / "layers").iterdir():
        entry.unlink()
    assert cache.get(files, 1) is None
    _one_layer(cache)
    assert blob.stat().st_ino == inode and cache.get(files, 1) is not None
    assert [p.name for p in (tmp_path / "cache" / "blobs" / "sha256").iterdir()] == [blob.name]


@pytest.mark.parametrize(("where", "mode"), [("", 0o777), ("layers", 0o775),
                                             ("blobs/sha256", 0o757)])
def test_a_cache_others_can_write_is_refused(tmp_path, where, mode):
    cache = tmp_path / "cache"
    LayerCache(cache)
    os.chmod(cache / where, mode)
    with pytest.raises(InputError) as err:
        _build(tmp_path, "a.tar", layer_cache=cache)
    assert "layer cache: writable by another user than you" in str(err.value)
    assert str(cache / where).rstrip("/") in str(err.value) and "chmod go-w" in str(err.value)
    assert not (tmp_path / "a.tar").exists()


def test_a_killed_builds_leftovers_are_swept(tmp_path):
    cache = tmp_path / "cache"
    LayerCache(cache)
    old = cache / "blobs" / "sha256" / ".abc.1234.tmp"
    young = cache / "layers" / ".def.5678.tmp"
    for p in (old, young):
        p.write_bytes(b"partial")
    os.utime(old, (1, 1))
    LayerCache(cache)
    assert not old.exists() and young.exists()
