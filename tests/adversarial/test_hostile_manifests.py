"""Hostile manifests, for every command that loads one (``rebuild``, ``verify``, ``fetch``).

Malformed JSON, documents nested 100,000 deep, 5,000-digit integers, documents past the size
limit, labels that are path components (``..``, ``/tmp/x``), names with paths, hand edits, a
FIFO or ``/dev/zero`` given as the manifest: each is exit 2 with one line, and nothing is written
anywhere (``rebuild -o`` above all: an observation label is a directory name there).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.hostile import check

from reprocal.core._dates import CalDate
from reprocal.repo._repository import Repository
from reprocal.state._manifest import save_manifest
from reprocal.state._pin import ObsRequest, pin
from reprocal.testing._synthetic import generate


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    """A small synthetic repository and the manifest of two observations pinned over it."""
    root = tmp_path_factory.mktemp("hostile-state")
    generate(root / "repo", seed=3, scale=1e-4, files=60)
    an = CalDate.parse("2020-01-01T00:00:00")
    with Repository(root / "repo", catalog=root / "catalog.sqlite") as repo:
        manifest, _ = pin(repo, [ObsRequest("0201901401", CalDate.parse("2004-05-09T13:00:16"), an),
                                 ObsRequest("0201903501", CalDate.parse("2014-06-17T10:20:58"), an)],
                          allow_incomplete=True)
    path = save_manifest(manifest, root / "manifest.json")
    return root / "repo", path, path.read_bytes()


def _sub(pattern: bytes, replacement: bytes) -> Callable[[bytes], bytes]:
    def make(valid: bytes) -> bytes:
        out, n = re.subn(pattern, replacement, valid, count=1)
        assert n == 1, pattern
        return out
    return make


def _doc(edit: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def make(valid: bytes) -> bytes:
        doc = json.loads(valid)
        edit(doc)
        return json.dumps(doc).encode()
    return make


def _label(value: str) -> Callable[[bytes], bytes]:
    def edit(doc: dict[str, Any]) -> None:
        doc["observations"][0]["label"] = value
    return _doc(edit)


def _nest(doc: dict[str, Any]) -> None:
    inner: Any = 1
    for _ in range(200):
        inner = [inner]
    doc["generator"]["method"] = inner


def _extras(doc: dict[str, Any]) -> None:
    doc["extras"] = [{"label": "esas", "kind": "other", "files": [
        {"path": "../../outside/victim.txt", "size": 1, "sha256": "0" * 64}]}]


PAYLOADS: dict[str, Callable[[bytes], bytes]] = {
    "not-json": lambda v: b"this is not JSON\n",
    "truncated": lambda v: v[: len(v) // 2],
    "utf-16": lambda v: v.decode().encode("utf-16"),
    "binary": lambda v: bytes(range(256)) * 8,
    "empty": lambda v: b"",
    "nested-100000-deep": lambda v: b"[" * 100_000 + b"]" * 100_000,
    "nested-inside": _doc(_nest),
    "5000-digit-integer": _sub(rb'"size":\d+', b'"size":' + b"9" * 5000),
    "size-past-schema": _sub(rb'"size":\d+', b'"size":99999999999999999999'),
    "size-negative": _sub(rb'"size":\d+', b'"size":-1'),
    "nan": _sub(rb'"size":\d+', b'"size":NaN'),
    "top-level-array": lambda v: b"[]",
    "top-level-string": lambda v: b'"reprocal.manifest/v2"',
    "unknown-schema": lambda v: v.replace(b"reprocal.manifest/v2", b"reprocal.manifest/v99"),
    "observations-an-object": _doc(lambda d: d.__setitem__("observations", {})),
    "set-index-out-of-range": _doc(lambda d: d["sets"][0].append(99)),
    "bad-date": _doc(lambda d: d["observations"][0].__setitem__("obs_date",
                                                                 "2004-13-45T25:61:61")),
    "hand-edited-sha256": _sub(rb'"sha256":"[0-9a-f]', b'"sha256":"g'),
    "hand-edited-size": _sub(rb'"size":(\d+)', rb'"size":1\1'),
    "state-id-edited": _sub(rb"rpcal:2:state:[0-9a-f]{4}", b"rpcal:2:state:0000"),
    "name-with-path": _sub(rb'"name":"', b'"name":"../'),
    "extra-set-escaping": _doc(_extras),
    "label-dotdot": _label(".."),
    "label-dot": _label("."),
    "label-parent-path": _label("../../outside"),
    "label-absolute": _label("/tmp/reprocal-hostile"),
    "label-hidden": _label(".hidden"),
    "label-option": _label("-rf"),
    "label-nul": _label("a\x00b"),
    "label-too-long": _label("a" * 65),
    "label-duplicate": _label("0201903501"),
}

COMMANDS = ["rebuild", "verify", "fetch"]


def _argv(command: str, manifest: Path, repo: Path, box: Path) -> list[str | Path]:
    if command == "rebuild":
        return ["rebuild", manifest, "-o", box / "out", "--ccf-path", repo]
    if command == "verify":
        return ["verify", manifest, "--ccf-path", repo]
    return ["fetch", manifest, "--ccf-path", box / "dest", "--mirror", repo, "--dry-run"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_a_hostile_manifest_is_one_line_and_writes_nothing(runner, box, outside, state, payload,
                                                           command):
    repo, _, valid = state
    manifest = box / "manifest.json"
    manifest.write_bytes(PAYLOADS[payload](valid))
    r = runner(*_argv(command, manifest, repo, box), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10)
    assert not (box / "out").exists() and not (box / "dest").exists()
    assert not Path("/tmp/reprocal-hostile").exists()


SPECIAL = ["fifo", "dev-zero", "directory", "symlink-to-fifo", "missing"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("kind", SPECIAL)
def test_a_manifest_that_is_not_a_regular_file_is_refused_before_reading(runner, box, outside,
                                                                        state, kind, command):
    """A FIFO would block for ever, /dev/zero would fill memory: refused before any read."""
    repo, _, _ = state
    manifest = box / "manifest.json"
    if kind == "fifo":
        os.mkfifo(manifest)
    elif kind == "dev-zero":
        manifest = Path("/dev/zero")
    elif kind == "directory":
        manifest.mkdir()
    elif kind == "symlink-to-fifo":
        os.mkfifo(box / "pipe")
        manifest.symlink_to(box / "pipe")
    r = runner(*_argv(command, manifest, repo, box), cwd=box, env={"XDG_CACHE_HOME": str(box)})
    check(r, 2, outside=outside, seconds=10)


def test_a_manifest_past_the_document_limit_is_refused(runner, box, outside, state):
    repo, path, _ = state
    r = runner("--limit", "document-size=1KiB", "rebuild", path, "-o", box / "out",
               "--ccf-path", repo, cwd=box)
    check(r, 2, outside=outside, says="larger than the limit of 1024 bytes")
    assert not (box / "out").exists()


def test_the_valid_manifest_still_rebuilds(runner, box, outside, state):
    """The control: the untouched manifest rebuilds into -o and nowhere else."""
    repo, path, _ = state
    r = runner("rebuild", path, "-o", box / "out", "--ccf-path", repo, cwd=box)
    check(r, 0, outside=outside, lines=0)
    assert sorted(p.name for p in (box / "out").iterdir()) == ["0201901401", "0201903501"]


@pytest.mark.parametrize("obs_id", ["..", ".", "../outside", "/abs", ".hidden", "a/b"])
def test_an_obs_list_label_that_is_a_path_is_refused_at_pin(runner, box, outside, obs_id):
    """``pin --obs-list``: an obs_id is checked before anything is resolved or written."""
    (box / "obs.csv").write_text(f"obs_id,obs_date\n{obs_id},2004-05-09T13:00:16\n")
    (box / "ccf").mkdir()
    r = runner("pin", "--obs-list", box / "obs.csv", "--analysis-date", "2018-01-01",
               "--ccf-path", box / "ccf", "-o", box / "m.json", cwd=box,
               env={"XDG_CACHE_HOME": str(box / "cache")})
    check(r, (2, 3), outside=outside)
    assert not (box / "m.json").exists()
