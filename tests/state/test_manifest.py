"""Manifest model: canonical bytes, calibration id, validation with JSON paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import ManifestError
from reprocal.state._manifest import Generator, build, load_manifest, loads, save_manifest

D = CalDate.parse
SHA = "ab" * 32


def _c(scope: str, typeid: str, issue: int) -> Constituent:
    return Constituent(ConstituentName(scope, typeid, issue), valdate="2000-01-01",
                       subdate="2001-02-03T04:05:06", date="2001-01-01", creator="test",
                       extseqid="A B")


def _manifest(**kw):  # type: ignore[no-untyped-def]
    a, b, c = _c("EPN", "CTI", 3), _c("EMOS1", "BADPIX", 2), _c("XRT1", "XAREAEF", 9)
    obs = [("0201901401", D("2004-05-09T13:00:16"), D("2018-07-27"), "XMMCCF", [a, b]),
           ("0201903501", D("2004-06-17T10:38:28"), D("2018-07-27"), "XMMCCF", [a, c])]
    hashes = {x.filename: (2880 * (i + 1), SHA) for i, x in enumerate([a, b, c])}
    return build(obs, hashes, **kw)


def test_shared_constituents_listed_once() -> None:
    """Two observations sharing a constituent list it once."""
    m = _manifest()
    assert [f.filename for f in m.files] == [
        "EMOS1_BADPIX_0002.CCF", "EPN_CTI_0003.CCF", "XRT1_XAREAEF_0009.CCF"]
    assert m.labels() == ["0201901401", "0201903501"]


def test_round_trip_is_byte_identical(tmp_path: Path) -> None:
    """save -> load -> save gives the same bytes, ending with a newline."""
    m = _manifest(sas_version="21.0.0")
    p = save_manifest(m, tmp_path / "m.json")
    again = load_manifest(p)
    assert again == m
    assert again.dumps() == p.read_bytes()
    assert p.read_bytes().endswith(b"}\n")


def test_calibration_id_ignores_tool_and_sas_version() -> None:
    """The id hashes calibration content only: not the generator, not the intended SAS."""
    a = _manifest(sas_version="21.0.0", generator=Generator("reprocal", "9.9", "x"))
    b = _manifest()
    assert a.calibration_id == b.calibration_id
    assert a.digest != b.digest


def _doc() -> dict:  # type: ignore[type-arg]
    return json.loads(_manifest().dumps())


def _edit(fn):  # type: ignore[no-untyped-def]
    doc = _doc()
    fn(doc)
    return json.dumps(doc)


BAD = [
    ("{", "m.json: line 1 column 2: not valid JSON (Expecting property name enclosed in double quotes)"),
    ("[]", "m.json: top level must be a JSON object"),
    (_edit(lambda d: d.update(schema="reprocal.manifest/v9")),
     "m.json: $.schema: unknown manifest schema 'reprocal.manifest/v9'; this reprocal reads "
     "reprocal.manifest/v1; upgrade reprocal, or check the file is a reprocal manifest"),
    (_edit(lambda d: d["observations"][0].update(obs_date="now")),
     "m.json: $.observations[0].obs_date: 'now' does not match "
     "'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'"),
    (_edit(lambda d: d["observations"][1].update(analysis_date="2018-02-30T00:00:00")),
     "m.json: $.observations[1].analysis_date: '2018-02-30T00:00:00' has day 30; 2018-02 has 28 days"),
    (_edit(lambda d: d["constituents"].update({"../../etc/passwd": d["constituents"]["EPN_CTI_0003.CCF"]})),
     "m.json: $.constituents: '../../etc/passwd' does not match '^[A-Z0-9]{1,5}_[A-Z0-9]{1,17}_[0-9]{4}\\\\.CCF$'"),
    (_edit(lambda d: d["constituents"]["EPN_CTI_0003.CCF"].update(sha256="xyz")),
     "m.json: $.constituents.EPN_CTI_0003.CCF.sha256: 'xyz' does not match '^[0-9a-f]{64}$'"),
    (_edit(lambda d: d["constituents"]["EPN_CTI_0003.CCF"].update(issue=4)),
     "m.json: $.constituents['EPN_CTI_0003.CCF']: scope/typeid/issue disagree with the name"),
    (_edit(lambda d: d["observations"][0]["constituents"].append("EPN_CTI_0004.CCF")),
     "m.json: $.observations[0].constituents[2]: 'EPN_CTI_0004.CCF' is not listed in $.constituents"),
    (_edit(lambda d: d["constituents"]["EPN_CTI_0003.CCF"].update(size=5)),
     "m.json: $.calibration_id is {old} but the content hashes to {new}; the manifest was "
     "edited by hand; re-pin it with `reprocal pin`"),
    (_edit(lambda d: d.pop("observations")),
     "m.json: $: 'observations' is a required property"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_manifests(text: str, message: str) -> None:
    """Every malformed manifest is refused with one line naming the JSON path."""
    with pytest.raises(ManifestError) as err:
        loads(text, source="m.json")
    if "{old}" in message:
        old = _doc()["calibration_id"]
        new = err.value.one_line().split("hashes to ")[1].split(";")[0]
        message = message.format(old=old, new=new)
        assert new != old
    assert err.value.one_line() == message
    assert err.value.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    """A missing manifest is a one-line input error naming it."""
    with pytest.raises(ManifestError, match=r"nope.json: cannot read: No such file or directory"):
        load_manifest(tmp_path / "nope.json")
