"""Property tests for the parsers that take hostile text: whatever they are given, they return a
value or raise reprocal's own one-line error, never anything else (no ``KeyError``,
``TypeError``, ``RecursionError``, ``MemoryError``, no hang).

Manifest loading, mirror values, registry references, OCI index and manifest reading (from
documents and from image tars), CALINDEX reading (mutated real tables).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from support.imagekit import make_state

from reprocal.core._constituent import Constituent
from reprocal.core._names import ConstituentName, check_label
from reprocal.errors import InputError, ReprocalError
from reprocal.fetch._mirrors import InvalidMirrorError, parse_mirror
from reprocal.fits._calindex import read_calindex, write_cif
from reprocal.fits._cards import CARD
from reprocal.fs._limits import Limits, use_limits
from reprocal.image._archive import read_image_tar
from reprocal.image._ocidoc import descriptor, document, manifest_parts, objects
from reprocal.image._registry import Reference
from reprocal.state._manifest import Manifest, loads

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FILES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=30)

_VALID: dict[str, Any] = {}


def _valid_manifest() -> dict[str, Any]:
    if not _VALID:
        with tempfile.TemporaryDirectory() as d:
            m, _ = make_state(Path(d) / "repo", obs_ids=("0201901401", "0201903501"))
            _VALID.update(json.loads(m.dumps()))
    return json.loads(json.dumps(_VALID))


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc[path[0]] = _replace(doc[path[0]], path[1:], value)
    return doc


# --- manifests ----------------------------------------------------------------------------------


@SETTINGS
@given(st.binary(max_size=2000))
def test_manifest_loading_of_any_bytes(data: bytes) -> None:
    try:
        loads(data)
    except ReprocalError:
        pass


@SETTINGS
@given(JSON)
def test_manifest_loading_of_any_json(doc: Any) -> None:
    try:
        loads(json.dumps(doc))
    except ReprocalError:
        pass


@SETTINGS
@given(st.data())
def test_a_manifest_with_any_one_value_replaced_loads_or_is_refused(data: st.DataObject) -> None:
    doc = _valid_manifest()
    path = data.draw(st.sampled_from(_paths(doc)))
    value = data.draw(JSON | st.sampled_from(["..", ".", "/etc", "../x", "a/b", "", "-x", "\0"]))
    try:
        m = loads(json.dumps(_replace(doc, path, value)))
    except ReprocalError:
        return
    assert isinstance(m, Manifest)
    for label in m.labels():  # whatever loads is safe to use as a path component
        check_label(label)


# --- mirror values and registry references ------------------------------------------------------


@SETTINGS
@given(st.text(max_size=120) | st.sampled_from([
    "http://", "https://[::1", "rsync://h/../x", "h::../../etc", "file://remote/x", "~nobody/x",
    "http://h:99999/", "http://h/?q", "https://a b/", "\x00", "ftp://x/"]))
def test_mirror_values(value: str) -> None:
    try:
        m = parse_mirror(value)
    except InvalidMirrorError:
        return
    url = m.url("EPN_CTI_0045.CCF")
    assert url.endswith("EPN_CTI_0045.CCF") and ".." not in m.base.split("/")


@SETTINGS
@given(st.text(max_size=160) | st.sampled_from([
    "a.b/x", "localhost/x:y", "h:5000/r/x@sha256:" + "0" * 64, "h.io/X:Y", "h.io/x:",
    "h.io/x@sha256:zz", "[::1]:5000/x:t", "h io/x", "h.io//x", "h.io/x/../y"]))
def test_registry_references(ref: str) -> None:
    try:
        r = Reference.parse(ref)
    except InputError:
        return
    again = Reference.parse(str(r))
    assert again == r
    assert " " not in r.base_url and r.base_url.startswith(("http://", "https://"))


# --- OCI documents and image tars ---------------------------------------------------------------


@SETTINGS
@given(JSON)
def test_oci_documents(doc: Any) -> None:
    try:
        d = document(json.dumps(doc).encode(), "doc")
        objects(d, "manifests", "$", "doc", required=False)
        manifest_parts(d, "doc")
        descriptor(d, "$", "doc")
    except InputError:
        pass


DESCRIPTOR = st.fixed_dictionaries({}, optional={
    "mediaType": st.sampled_from(["application/vnd.oci.image.index.v1+json",
                                  "application/vnd.oci.image.manifest.v1+json", "x"]) | JSON,
    "digest": st.just("sha256:" + "0" * 64) | JSON, "size": st.integers(-5, 10**20) | JSON,
    "platform": JSON})


@FILES
@given(st.dictionaries(st.sampled_from(["schemaVersion", "manifests", "mediaType"]),
                       st.lists(DESCRIPTOR, max_size=3) | JSON, max_size=3))
def test_image_tar_index_reading(index: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "img.tar"
        members = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                   "index.json": json.dumps(index).encode(),
                   "blobs/sha256/" + "0" * 64: json.dumps(index).encode()}
        with tarfile.open(path, "w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        try:
            read_image_tar(path)
        except InputError:
            pass


# --- CALINDEX tables ----------------------------------------------------------------------------

_CIF: list[bytes] = []


def _cif() -> bytes:
    if not _CIF:
        rows = [Constituent(ConstituentName(s, t, i), valdate="2000-01-01", subdate="2001-01-01")
                for s, t, i in (("EPN", "CTI", 45), ("EMOS1", "ADUCONV", 79), ("OM", "PSF1DRB", 2))]
        with tempfile.TemporaryDirectory() as d:
            _CIF.append(write_cif(Path(d) / "c.cif", rows, obs_date="2004-01-01",
                                  analysis_date="2005-01-01").read_bytes())
    return _CIF[0]


HOSTILE_VALUES = st.sampled_from([
    "0", "-1", "'abc'", "1000000000000000", "10000000000000000", "7", "T", "F", "''", "1.5",
    "999", "'BINTABLE'", "'CALINDEX'", "' '", "99999999999999999999999"]) | st.integers(
        -(2**64), 2**64).map(str)


@FILES
@given(st.data())
def test_calindex_reading_of_mutated_tables(data: st.DataObject) -> None:
    raw = bytearray(_cif())
    start = raw.index(b"XTENSION= 'BINTABLE'")
    end = raw.index(b"END" + b" " * 77, start)
    for _ in range(data.draw(st.integers(1, 4))):
        card = data.draw(st.integers(0, (end - start) // CARD - 1))
        at = start + card * CARD
        if data.draw(st.booleans()):
            key = bytes(raw[at:at + 8]).decode("ascii", "replace")
            value = data.draw(HOSTILE_VALUES)
            raw[at:at + CARD] = f"{key}= {value}".ljust(CARD)[:CARD].encode("ascii", "replace")
        else:
            offset = data.draw(st.integers(0, len(raw) - 1))
            raw[offset] = data.draw(st.integers(0, 255))
    cut = data.draw(st.none() | st.integers(0, len(raw)))
    body = bytes(raw if cut is None else raw[:cut])
    assume(body)
    with tempfile.TemporaryDirectory() as d, use_limits(Limits(table_size=1 << 20,
                                                               header_size=1 << 16)):
        path = Path(d) / "m.cif"
        path.write_bytes(body)
        try:
            read_calindex(path)
        except ReprocalError:
            pass


@pytest.mark.parametrize("tfields", ["5547013194825595298", "11499000501868135756", "1000",
                                     "-3", "'many'"])
def test_a_table_claiming_absurdly_many_columns_is_refused_before_astropy(
        tmp_path: Path, tfields: str) -> None:
    """Found by the test above in a fresh clone: a damaged TFIELDS (10^19) made astropy size
    its column list by it, and the test process grew to 24 GB until the kernel killed it. It
    is refused by name, in a process capped at 1.5 GB so that a regression fails, not kills."""
    raw = bytearray(_cif())
    at = raw.index(b"TFIELDS =", raw.index(b"XTENSION= 'BINTABLE'"))
    raw[at:at + CARD] = f"TFIELDS = {tfields}".ljust(CARD).encode()
    path = tmp_path / "ccf.cif"
    path.write_bytes(bytes(raw))
    code = ("import sys\nfrom reprocal.errors import ReprocalError\n"
            "from reprocal.fits._calindex import read_calindex\n"
            "try:\n    read_calindex(sys.argv[1])\nexcept ReprocalError as e:\n"
            "    print(e.one_line())\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=120, preexec_fn=_cap_memory)
    assert done.returncode == 0, done.stderr[-500:]
    value = tfields.strip("'")  # a string card's value is read unquoted
    assert done.stdout == (f"{path}: HDU #1: TFIELDS = {value!r} is not a number of columns "
                           "(0..999)\n")


def _cap_memory() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
