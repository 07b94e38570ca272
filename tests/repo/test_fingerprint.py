"""Fingerprints: the digests' definition, comparison, documents that must match their files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from reprocal.errors import InputError
from reprocal.repo._fingerprint import Facts, Fingerprint, compare, load, of_repository

SHA_A, SHA_B = "a" * 64, "b" * 64


def test_digests_are_the_documented_lines() -> None:
    """content: sha256 of 'NAME SIZE SHA256\\n' sorted by name; names-sizes: of 'NAME SIZE\\n'
    ('?' for an unknown size); no content digest without every sha256."""
    fp = Fingerprint("x", "repository", [Facts("EPN_QE_0001.CCF", 5760, SHA_B),
                                         Facts("EPN_CTI_0001.CCF", 2880, SHA_A)])
    lines = f"EPN_CTI_0001.CCF 2880 {SHA_A}\nEPN_QE_0001.CCF 5760 {SHA_B}\n"
    assert fp.content == "rpfp:1:content:" + hashlib.sha256(lines.encode()).hexdigest()
    listing = Fingerprint("m", "listing", [Facts("EPN_CTI_0001.CCF", None)])
    assert listing.content is None
    assert listing.names_sizes == ("rpfp:1:names-sizes:"
                                   + hashlib.sha256(b"EPN_CTI_0001.CCF ?\n").hexdigest())


def test_compare() -> None:
    """Names on one side only, sizes that differ, bytes that differ, and what could only be
    compared by name and size."""
    a = Fingerprint("a", "repository", [Facts("A_X_0001.CCF", 1, SHA_A), Facts("A_Y_0001.CCF", 1, SHA_A),
                                        Facts("A_Z_0001.CCF", 1, SHA_A), Facts("A_W_0001.CCF", 1, SHA_A)])
    b = Fingerprint("b", "listing", [Facts("A_X_0001.CCF", 2), Facts("A_Y_0001.CCF", 1, SHA_B),
                                     Facts("A_Z_0001.CCF", 1), Facts("A_V_0001.CCF", 1)])
    c = compare(a, b)
    assert (c.only_a, c.only_b) == (("A_W_0001.CCF",), ("A_V_0001.CCF",))
    assert c.sizes == (("A_X_0001.CCF", 1, 2),)
    assert c.contents == (("A_Y_0001.CCF", SHA_A, SHA_B),)
    assert c.unjudged == 1 and c.level == "names-sizes" and not c.same


def test_a_document_must_match_its_digests(tmp_path: Path) -> None:
    """A saved fingerprint loads; one edited by hand (a sha256 changed) is refused."""
    fp = Fingerprint("site", "repository", [Facts("EPN_CTI_0001.CCF", 2880, SHA_A)])
    path = tmp_path / "fp.json"
    path.write_text(json.dumps(fp.to_json()))
    assert load(path).content == fp.content
    doc = fp.to_json()
    doc["files"][0]["sha256"] = SHA_B
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="its content digest does not match its files"):
        load(path)
    doc["files"][0]["name"] = "../x"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=r"files\[0\]: '../x' is not a canonical constituent name"):
        load(path)
    path.write_text("{}")
    with pytest.raises(InputError, match="not a fingerprint document"):
        load(path)


def test_of_repository_reuses_the_verify_cache(synthetic_repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The second fingerprint of an untouched repository reads no file."""
    import time

    from reprocal.fits import _checksum

    time.sleep(0.05)  # files written within a clock tick of the read are racily clean
    first = of_repository([synthetic_repo.root])
    assert first.content is not None and len(first.files) == len(synthetic_repo.paths)
    monkeypatch.setattr(_checksum, "check_files", lambda *a, **k: pytest.fail("read again"))
    assert of_repository([synthetic_repo.root]).content == first.content
