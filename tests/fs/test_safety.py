"""The safe-open primitives, the bounded gunzip and the limits object (``reprocal.fs``)."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.errors import InputError
from reprocal.fs._gunzip import CorruptGzipError, InflateLimitError, gunzip_chunks
from reprocal.fs._inputs import (
    NotRegularError,
    NotRegularFile,
    UnsafeFileError,
    open_private,
    open_regular,
    read_input,
)
from reprocal.fs._limits import DEFAULT_LIMITS, Limits, current_limits, use_limits

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize("kind", ["fifo", "directory", "dev-zero", "socket"])
def test_an_input_that_is_not_a_regular_file_is_refused_before_reading(tmp_path, kind):
    import socket

    path = tmp_path / "x"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dev-zero":
        path = Path("/dev/zero")
    else:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(path))  # the socket file stays after the socket closes
    with pytest.raises(NotRegularError, match="not a regular file"):
        read_input(path, limit=10)
    with pytest.raises(NotRegularFile):
        open_regular(path)


def test_a_read_past_its_limit_is_refused_naming_the_limit(tmp_path):
    p = tmp_path / "big"
    p.write_bytes(b"x" * 100)
    with pytest.raises(InputError, match=r"larger than the limit of 10 bytes \(100 bytes\); "
                                         r"raise it with --limit document-size"):
        read_input(p, limit=10, name="document-size")
    assert read_input(p, limit=100) == b"x" * 100


@pytest.mark.parametrize("plant", ["symlink", "fifo", "directory", "hardlink", "dangling"])
def test_open_private_never_follows_or_opens_what_is_not_ours(tmp_path, plant):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    p = tmp_path / ".x.part"
    if plant == "symlink":
        p.symlink_to(victim)
    elif plant == "fifo":
        os.mkfifo(p)
    elif plant == "directory":
        p.mkdir()
    elif plant == "hardlink":
        os.link(victim, p)
    else:
        p.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafeFileError, match="in the way; reprocal leaves it alone"):
        os.close(open_private(p))
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "nowhere").exists()


def test_open_private_creates_and_reopens_our_own_file(tmp_path):
    p = tmp_path / ".x.part"
    fd = open_private(p)
    os.write(fd, b"abc")
    os.close(fd)
    fd = open_private(p)
    assert os.pread(fd, 10, 0) == b"abc"
    os.close(fd)
    with pytest.raises(UnsafeFileError):
        open_private(p, exclusive=True)


def test_a_gzip_bomb_stops_at_its_limit_in_small_steps():
    bomb = gzip.compress(b"\0" * (32 << 20))
    seen = []
    with pytest.raises(InflateLimitError, match="expands past the limit of 1048576 bytes"):
        for chunk in gunzip_chunks([bomb], limit=1 << 20, chunk=65536):
            seen.append(len(chunk))
    assert max(seen) <= 65536 and sum(seen) <= (1 << 20) + 65536


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(1, 700))
def test_gunzip_in_any_pieces_gives_the_bytes(data, piece):
    z = gzip.compress(data) + gzip.compress(data[:10])  # two members
    pieces = [z[i:i + piece] for i in range(0, len(z), piece)]
    assert b"".join(gunzip_chunks(pieces, limit=1 << 20)) == data + data[:10]


def test_a_truncated_or_corrupt_gzip_is_one_error():
    z = gzip.compress(b"hello" * 1000)
    with pytest.raises(CorruptGzipError, match="ends before"):
        list(gunzip_chunks([z[:20]]))
    with pytest.raises(CorruptGzipError, match="not valid gzip"):
        list(gunzip_chunks([b"\x1f\x8b" + b"\xff" * 50]))


def test_limits_parse_units_and_refuse_nonsense():
    lim = Limits.parse(["download-size=1.5KiB", "min-rate=2KiB/s", "file-deadline=2min",
                        "read-timeout=500ms", "json-depth=9"])
    assert (lim.download_size, lim.min_rate, lim.file_deadline, lim.read_timeout,
            lim.json_depth) == (1536, 2048, 120.0, 0.5, 9)
    for bad in ("size=1", "download-size", "download-size=-1", "read-timeout=fast",
                "json-depth=0"):
        with pytest.raises(InputError):
            Limits.parse([bad])


def test_use_limits_is_scoped():
    with use_limits(Limits(json_depth=3)):
        assert current_limits().json_depth == 3
    assert current_limits() == DEFAULT_LIMITS


def test_the_readme_table_states_every_limit_and_its_default():
    """The README's reliability table names each limit with the default the code has."""
    text = README.read_text()
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| ([^|]+) \|", text, flags=re.M))
    assert set(Limits.names()) <= set(rows)

    def value(name: str) -> object:
        return Limits.parse([f"{name}={rows[name].strip().replace(' ', '')}"]) \
            .__getattribute__(name.replace("-", "_"))
    for name in Limits.names():
        assert value(name) == getattr(DEFAULT_LIMITS, name.replace("-", "_")), name


def test_an_output_that_is_a_device_is_refused_and_left_alone(tmp_path, monkeypatch):
    """The atomic writer renames its temporary file over the target: over a device
    (``-o /dev/full`` run as root) that would replace the device with a regular file. It is
    refused before a byte is written, in one line naming it (exit 2), and nothing is left; put
    there while the file is written, it is refused at the rename. (A device cannot be made
    without root: the check is shown on what ``lstat`` reports, the FIFO and link cases on
    real files.)"""
    import stat

    from reprocal.fs import _atomic
    from reprocal.fs._atomic import atomic_file, atomic_write

    device = tmp_path / "dev"
    device.write_bytes(b"")
    real_lstat = os.lstat

    class Device:
        st_mode = stat.S_IFCHR | 0o666

    monkeypatch.setattr(_atomic.os, "lstat",
                        lambda p: Device() if Path(p) == device else real_lstat(p))
    with pytest.raises(InputError) as err:
        atomic_write(device, b"data")
    assert err.value.exit_code == 2
    assert err.value.one_line() == (f"{device}: is a device, not a file to write; give the "
                                    "name of a regular file to write")
    assert device.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev"]
    late = tmp_path / "late"
    with pytest.raises(InputError):
        with atomic_file(late) as f:
            f.write(b"data")
            device.rename(late)
            device = late  # the lstat above now reports the late arrival as a device
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late"]
    assert late.read_bytes() == b""
    monkeypatch.undo()
    # a FIFO, a regular file and a symbolic link are replaced, as ever (the link itself)
    os.mkfifo(tmp_path / "fifo")
    atomic_write(tmp_path / "fifo", b"fifo")
    assert (tmp_path / "fifo").read_bytes() == b"fifo"
    (tmp_path / "old").write_bytes(b"old")
    atomic_write(tmp_path / "old", b"new")
    (tmp_path / "link").symlink_to(tmp_path / "old")
    atomic_write(tmp_path / "link", b"link")
    assert (tmp_path / "old").read_bytes() == b"new"
    assert not (tmp_path / "link").is_symlink()
