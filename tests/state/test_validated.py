"""A manifest's bytes that passed the schema once skip the schema pass, and nothing else.

The memo (``reprocal.state._validated``) is named by the schema, the version and the bytes: a
load of the same bytes still builds and checks the model; another byte, a document that failed,
an unwritable or hostile memo directory all mean the schema runs (and the load never fails for
the memo's sake).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import reprocal.state._manifest as manifest_module
from reprocal.errors import ManifestError
from reprocal.state._manifest import build, load_manifest, save_manifest
from reprocal.state._validated import memo_dir
from tests.state.test_manifest import HASHES, OBS


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each schema pass, by source."""
    passes: list[str] = []
    real = manifest_module._schema_errors

    def counting(doc, source):  # type: ignore[no-untyped-def]
        passes.append(source)
        return real(doc, source)

    monkeypatch.setattr(manifest_module, "_schema_errors", counting)
    return passes


@pytest.fixture
def pinned(tmp_path: Path) -> Path:
    return save_manifest(build(OBS, HASHES), tmp_path / "m.json")


def test_the_same_bytes_are_validated_once(pinned: Path, counted: list[str]) -> None:
    first, again = load_manifest(pinned), load_manifest(pinned)
    assert first == again
    assert counted == [str(pinned)]
    assert [p.stat().st_size for p in memo_dir().iterdir()] == [0]


def test_another_byte_is_validated_again(pinned: Path, counted: list[str]) -> None:
    load_manifest(pinned)
    pinned.write_bytes(pinned.read_bytes() + b" ")  # whitespace: the same document
    load_manifest(pinned)
    assert counted == [str(pinned)] * 2


def test_a_failing_document_is_never_remembered(pinned: Path, counted: list[str]) -> None:
    doc = json.loads(pinned.read_text())
    doc["observations"][0]["obs_date"] = "not a date"
    pinned.write_text(json.dumps(doc))
    for _ in range(2):
        with pytest.raises(ManifestError, match=r"obs_date"):
            load_manifest(pinned)
    assert counted == [str(pinned)] * 2
    assert not memo_dir().exists() or not any(memo_dir().iterdir())


def test_remembered_bytes_still_have_their_model_checked(pinned: Path) -> None:
    """A memo entry planted for a hand-edited manifest skips the schema, not the state id."""
    doc = json.loads(pinned.read_text())
    doc["observations"][0]["category"] = "OTHERCAT"
    edited = json.dumps(doc).encode()
    pinned.write_bytes(edited)
    memo_dir().mkdir(parents=True)
    from reprocal.state._validated import memo_key

    (memo_dir() / memo_key(manifest_module.SCHEMA_FILE, edited)).touch()
    with pytest.raises(ManifestError, match=r"state_id .* the content hashes to"):
        load_manifest(pinned)


@pytest.mark.parametrize("hostile", ["a file", "a link", "read-only"])
def test_a_memo_that_cannot_be_used_only_costs_time(pinned: Path, counted: list[str],
                                                    tmp_path: Path, hostile: str) -> None:
    where = memo_dir()
    where.parent.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if hostile == "a file":
        where.write_text("not a directory")
    elif hostile == "a link":
        where.symlink_to(elsewhere)
    else:
        where.mkdir()
        where.chmod(0o500)
    try:
        assert load_manifest(pinned) == load_manifest(pinned)
    finally:
        if where.is_dir() and not where.is_symlink():
            where.chmod(0o700)
    assert list(elsewhere.iterdir()) == []
    if os.geteuid() != 0 or hostile != "read-only":  # root writes through a 0o500 directory
        assert counted == [str(pinned)] * 2
