"""Manifest model: version-2 canonical bytes, ids over content only, validation with JSON paths,
and version-1 manifests (reprocal 0.1) loading and upgrading."""

from __future__ import annotations

import copy
import json
import random
import warnings
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.core._calid import CalibrationId
from reprocal.core._constituent import Constituent
from reprocal.core._dates import CalDate
from reprocal.core._names import ConstituentName
from reprocal.errors import ManifestError
from reprocal.state._manifest import (
    ExtraFile,
    ExtraSet,
    Generator,
    RecordedGap,
    V1ManifestNotice,
    build,
    load_manifest,
    loads,
    save_manifest,
    upgrade,
)

D = CalDate.parse
SHA = "ab" * 32
V1 = Path(__file__).parent / "data" / "v1-manifest.json"
"""A manifest written by reprocal 0.1 (commit 66b3c73) over the session's synthetic repository
(seed 0, scale 1e-4, 150 files): two observations."""


def _c(scope: str, typeid: str, issue: int, **kw: object) -> Constituent:
    args: dict[str, object] = dict(valdate="2000-01-01", subdate="2001-02-03T04:05:06",
                                   date="2001-01-01", creator="test", extseqid="A B")
    args.update(kw)
    return Constituent(ConstituentName(scope, typeid, issue), **args)  # type: ignore[arg-type]


A, B, C = _c("EPN", "CTI", 3), _c("EMOS1", "BADPIX", 2), _c("XRT1", "XAREAEF", 9)
HASHES = {x.filename: (2880 * (i + 1), SHA) for i, x in enumerate([A, B, C])}
OBS = [("0201901401", D("2004-05-09T13:00:16"), D("2018-07-27"), "XMMCCF", [A, B]),
       ("0201903501", D("2004-06-17T10:38:28"), D("2018-07-27"), "XMMCCF", [A, C])]


def _manifest(obs=OBS, hashes=HASHES, **kw):  # type: ignore[no-untyped-def]
    return build(obs, hashes, **kw)


# --- model and bytes ------------------------------------------------------------------------


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


def test_bytes_are_one_element_per_line() -> None:
    """The canonical layout: sorted members, one array element per line, valid JSON."""
    text = _manifest().dumps().decode()
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert [ln.split(":")[0] for ln in lines if ln.startswith('"')] == [
        '"constituents"', '"extras"', '"generator"', '"observations"', '"sas_version"',
        '"schema"', '"sets"', '"state_id"', '"upgraded_from"']
    assert json.loads(text)["schema"] == "reprocal.manifest/v2"
    assert sum(1 for ln in lines if ln.startswith('{"analysis_date"')) == 2


def test_shared_selection_is_one_set() -> None:
    """Observations that select the same constituents reference one set."""
    obs = [(f"obs{i}", D(f"2004-05-0{i + 1}"), D("2018-07-27"), "XMMCCF", [A, B]) for i in range(5)]
    doc = json.loads(_manifest(obs).dumps())
    assert doc["sets"] == [[0, 1]]
    assert {o["set"] for o in doc["observations"]} == {0}


def test_gaps_are_recorded_not_hashed() -> None:
    """Gaps recorded at pin time are kept in the file but are not part of any id."""
    gap = [[RecordedGap("EPN_CTI_0004.CCF", "EPN_CTI_0003.CCF")], []]
    with_gaps = _manifest(gaps=gap)
    assert with_gaps.observations[0].gaps == (RecordedGap("EPN_CTI_0004.CCF", "EPN_CTI_0003.CCF"),)
    assert with_gaps.calibration_id == _manifest().calibration_id
    assert loads(with_gaps.dumps()).observations[0].gaps == with_gaps.observations[0].gaps


# --- ids --------------------------------------------------------------------------------------


def test_ids_ignore_labels_order_generator_and_sas_version() -> None:
    """Relabelling, reordering, another generator or SAS version: the same ids."""
    base = _manifest()
    relabelled = _manifest([("x", *o[1:]) if i == 0 else (None, *o[1:]) for i, o in enumerate(OBS)])
    reordered = _manifest(list(reversed(OBS)))
    other = _manifest(sas_version="21.0.0", generator=Generator("reprocal", "9.9", "x"))
    for m in (relabelled, reordered, other):
        assert m.calibration_id == base.calibration_id
        assert sorted(map(str, m.observation_ids)) == sorted(map(str, base.observation_ids))
    assert other.digest != base.digest  # the file's own bytes do differ


def test_id_text_carries_scheme_version() -> None:
    """State and observation ids are rpcal:2:<level>:<hex>."""
    m = _manifest()
    assert CalibrationId.parse(m.calibration_id) == m.state_id
    assert m.state_id.level == "state" and m.state_id.version == 2
    assert {i.level for i in m.observation_ids} == {"obs"}
    assert len(set(m.observation_ids)) == 2


FIELDS = {
    "valdate": "2000-01-02", "evaldate": "2030-01-01", "subdate": "2001-02-03T04:05:07",
    "date": "2001-01-02", "category": "SCISIMCCF", "telescop": "XMM2", "creator": "other",
    "extsequ": "SOME", "extseqid": "A B C", "md5": "0" * 32,
}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_any_attribute_changes_the_ids(field: str) -> None:
    """Every CALINDEX attribute a CIF row is written from is covered by the ids."""
    changed = attrs.evolve(B, **{field: FIELDS[field]})  # type: ignore[misc]
    m = _manifest([(OBS[0][0], *OBS[0][1:4], [A, changed]), OBS[1]])
    base = _manifest()
    assert m.observation_ids[0] != base.observation_ids[0]
    assert m.observation_ids[1] == base.observation_ids[1]  # the other one did not use it
    assert m.calibration_id != base.calibration_id


@pytest.mark.parametrize("change", ["size", "sha256", "obs_date", "analysis_date", "category"])
def test_bytes_and_dates_change_the_ids(change: str) -> None:
    """A constituent's size or sha256, or an observation's dates or category, change the ids."""
    hashes, obs = dict(HASHES), list(OBS)
    if change == "size":
        hashes[B.filename] = (hashes[B.filename][0] + 2880, SHA)
    elif change == "sha256":
        hashes[B.filename] = (hashes[B.filename][0], "cd" * 32)
    else:
        o = list(obs[0])
        o[{"obs_date": 1, "analysis_date": 2, "category": 3}[change]] = (
            "SCISIMCCF" if change == "category" else D("2019-01-01"))
        obs[0] = tuple(o)  # type: ignore[call-overload]
    m, base = _manifest(obs, hashes), _manifest()
    assert m.observation_ids[0] != base.observation_ids[0]
    assert m.calibration_id != base.calibration_id


def test_extras_count_in_the_state_id() -> None:
    """An extra calibration set changes the state id, not the observation ids."""
    caldb = ExtraSet("esas-caldb", "esas-caldb", (ExtraFile("a/b.fits", 10, SHA),))
    m, base = _manifest(extras=[caldb]), _manifest()
    assert m.observation_ids == base.observation_ids
    assert m.calibration_id != base.calibration_id
    other = attrs.evolve(caldb, files=(ExtraFile("a/b.fits", 10, "cd" * 32),))
    assert _manifest(extras=[other]).calibration_id != m.calibration_id
    relabelled = attrs.evolve(caldb, label="caldb", url="https://example.org/caldb.tar.gz")
    assert _manifest(extras=[relabelled]).calibration_id == m.calibration_id
    assert loads(m.dumps()) == m


@settings(max_examples=40, deadline=None)
@given(st.permutations(range(6)), st.lists(st.sampled_from(["a", "b", None]), min_size=6,
                                           max_size=6))
def test_id_is_a_function_of_content_only(order: list[int], names: list[str | None]) -> None:
    """Property: any order and any labels of the same observations give the same state id."""
    obs = [(None, D(f"2004-0{1 + i % 5}-01"), D("2018-07-27"), "XMMCCF",
            [A, B] if i % 2 else [A, C]) for i in range(6)]
    labelled = [((f"{names[j]}{j}" if names[j] else None), *obs[j][1:]) for j in order]
    assert _manifest(labelled).calibration_id == _manifest(obs).calibration_id


# --- validation -----------------------------------------------------------------------------


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
     "reprocal.manifest/v1, reprocal.manifest/v2; upgrade reprocal, or check the file is a "
     "reprocal manifest"),
    (_edit(lambda d: d["observations"][0].update(obs_date="now")),
     "m.json: $.observations[0].obs_date: 'now' does not match "
     "'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$'"),
    (_edit(lambda d: d["observations"][1].update(analysis_date="2018-02-30T00:00:00")),
     "m.json: $.observations[1].analysis_date: '2018-02-30T00:00:00' has day 30; 2018-02 has 28 days"),
    (_edit(lambda d: d["constituents"][0].update(name="../../etc/passwd")),
     "m.json: $.constituents[0].name: '../../etc/passwd' does not match "
     "'^[A-Z0-9]{1,5}_[A-Z0-9]{1,17}_[0-9]{4}\\\\.CCF$'"),
    (_edit(lambda d: d["constituents"][1].update(sha256="xyz")),
     "m.json: $.constituents[1].sha256: 'xyz' does not match '^[0-9a-f]{64}$'"),
    (_edit(lambda d: d["sets"][0].append(7)),
     "m.json: $.sets[0]: index 7 is past the end of $.constituents (3 entries)"),
    (_edit(lambda d: d["sets"][0].reverse()),
     "m.json: $.sets[0]: indices must be unique and ascending"),
    (_edit(lambda d: d["observations"][0].update(set=5)),
     "m.json: $.observations[0].set: 5 is past the end of $.sets (2 entries)"),
    (_edit(lambda d: d["observations"][1].update(set=0)),
     "m.json: $.sets[1]: no observation uses it"),
    (_edit(lambda d: d["observations"][0].update(label="..")),
     "m.json: $.observations[0].label: '..' does not match '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'"),
    (_edit(lambda d: d["observations"][1].update(label="0201901401")),
     "m.json: $.observations: a label is listed twice"),
    (_edit(lambda d: d["constituents"].reverse()),
     "m.json: $.constituents: names must be unique and sorted"),
    (_edit(lambda d: d["constituents"][1].update(size=5)),
     "m.json: $.state_id is {old} but the content hashes to {new}; the manifest was "
     "edited by hand; re-pin it with `reprocal pin`"),
    (_edit(lambda d: d["observations"][0].update(obs_date="2004-05-09T13:00:17")),
     "m.json: $.state_id is {old} but the content hashes to {new}; the manifest was "
     "edited by hand; re-pin it with `reprocal pin`"),
    (_edit(lambda d: d.pop("observations")),
     "m.json: $: 'observations' is a required property"),
    (_edit(lambda d: d.update(extras=[{"label": "x", "kind": "esas-caldb", "files": [
        {"path": "../x", "size": 1, "sha256": SHA}]}])),
     "m.json: $.extras[0].files[0].path: '../x' is not a relative path inside the set (no '..', "
     "no leading '/', no empty parts)"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_manifests(text: str, message: str) -> None:
    """Every malformed manifest is refused with one line naming the JSON path."""
    with pytest.raises(ManifestError) as err:
        loads(text, source="m.json")
    if "{old}" in message:
        old = _doc()["state_id"]
        new = err.value.one_line().split("hashes to ")[1].split(";")[0]
        message = message.format(old=old, new=new)
        assert new != old
    assert err.value.one_line() == message
    assert err.value.exit_code == 2


def test_two_issues_of_one_type_in_a_set_is_refused() -> None:
    """A set selecting two issues of one type cannot be a CIF (one row per type)."""
    a4 = _c("EPN", "CTI", 4)
    doc = json.loads(_manifest([("x", D("2004-01-01"), D("2018-01-01"), "XMMCCF", [A, B])],
                               {A.filename: (2880, SHA), B.filename: (2880, SHA)}).dumps())
    entry = copy.deepcopy(doc["constituents"][1])
    entry["name"] = a4.filename
    doc["constituents"].insert(2, entry)
    doc["sets"][0] = [0, 1, 2]
    with pytest.raises(ManifestError, match=r"\$\.observations\[0\]: selects two issues of EPN_CTI"):
        loads(json.dumps(doc), source="m.json")


def test_one_name_with_two_definitions_is_refused() -> None:
    """Two observations cannot pin one file name with different attributes."""
    other = attrs.evolve(A, creator="someone else")
    with pytest.raises(Exception, match=r"EPN_CTI_0003.CCF is pinned twice with different"):
        _manifest([OBS[0], (OBS[1][0], *OBS[1][1:4], [other, C])])


def test_label_checked_when_building() -> None:
    """A label that could become a path outside the output is refused at pin time too."""
    with pytest.raises(Exception, match=r"observation 1 label: '\.\.' is not a label"):
        _manifest([("..", *OBS[0][1:]), OBS[1]])


def test_missing_file(tmp_path: Path) -> None:
    """A missing manifest is a one-line input error naming it."""
    with pytest.raises(ManifestError, match=r"nope.json: cannot read: No such file or directory"):
        load_manifest(tmp_path / "nope.json")


# --- version 1 --------------------------------------------------------------------------------


def test_v1_manifest_loads_with_a_notice() -> None:
    """A reprocal 0.1 manifest loads, says once what it is, and keeps its v1 id."""
    with pytest.warns(V1ManifestNotice, match=r"a version-1 manifest \(id sha256:385ab1a0"):
        m = load_manifest(V1)
    assert m.source_schema == "reprocal.manifest/v1"
    assert m.upgraded_from == json.loads(V1.read_text())["calibration_id"]
    assert m.labels() == ["0201901401", "0201903501"]
    assert len(m.files) == 118
    assert m.state_id.level == "state"


def test_v1_upgrade_keeps_content_and_records_old_id(tmp_path: Path) -> None:
    """Upgrading writes v2 with the same constituents and the old id; it loads without notice."""
    with pytest.warns(V1ManifestNotice):
        old = load_manifest(V1)
    new = save_manifest(upgrade(old), tmp_path / "v2.json")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = load_manifest(new)
    assert m.files == old.files and m.observations == old.observations
    assert m.upgraded_from == old.upgraded_from
    assert m.calibration_id == old.calibration_id


def test_v1_hand_edit_is_still_refused() -> None:
    """A v1 manifest whose content no longer hashes to its v1 id is refused."""
    doc = json.loads(V1.read_text())
    name = sorted(doc["constituents"])[0]
    doc["constituents"][name]["size"] += 2880
    with pytest.raises(ManifestError, match=r"\$\.calibration_id is sha256:385ab1a0.* hand"):
        loads(json.dumps(doc), source="old.json")


def test_v1_hostile_label_is_refused() -> None:
    """The v1 grammar let '..' through as an obs_id; loading refuses it now."""
    doc = json.loads(V1.read_text())
    doc["observations"][0]["obs_id"] = ".."
    with pytest.raises(ManifestError, match=r"\$\.observations\[0\]\.obs_id: '\.\.' does not match"):
        loads(json.dumps(doc), source="old.json")


# --- scale ------------------------------------------------------------------------------------


def test_ten_thousand_observations_fit_in_two_megabytes() -> None:
    """10,000 observations over a realistic selection (the synthetic full-scale catalogue, one
    analysis date) make a manifest of at most 2 MB that loads back to the same ids."""
    from reprocal.core._select import Selector
    from reprocal.testing._synthetic import plan

    catalogue = plan(seed=7, scale=1.0)
    s = Selector(catalogue)
    rng = random.Random(1)
    an = D("2026-01-01")
    obs = []
    for i in range(10_000):
        when = D(f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                 f"T{rng.randint(0, 23):02d}:00:00")
        obs.append((f"{i:010d}", when, an, "XMMCCF", s.select(when, an).chosen))
    hashes = {c.filename: (c.fsize or 0, f"{i:064x}") for i, c in enumerate(catalogue)}
    m = build(obs, hashes)
    data = m.dumps()
    assert len(data) <= 2_000_000, len(data)
    assert loads(data) == m


# --- the compiled validator -----------------------------------------------------------------

def _paths(x, at=()):  # type: ignore[no-untyped-def]
    """Every (container, key) inside a JSON value."""
    items = x.items() if isinstance(x, dict) else enumerate(x) if isinstance(x, list) else ()
    for k, v in items:
        yield x, k
        yield from _paths(v, (*at, k))


_JUNK = [None, True, -1, 2**41, 1.5, "", "now", "../x", "a" * 300, [], {}, [1, 1], {"z": 1}]


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(_JUNK), st.booleans())
def test_inlined_schema_judges_as_the_reference(pick: int, junk: object, drop: bool) -> None:
    """The references-inlined validator (the fast path) accepts exactly what jsonschema with the
    schema as written accepts: one member of a v1 or v2 manifest replaced or removed."""
    from reprocal.state._manifest import _fast_validator, _validator

    doc = json.loads(V1.read_text()) if pick % 3 == 0 else json.loads(_manifest(
        extras=[ExtraSet("caldb", "esas-caldb", (ExtraFile("a/b", 1, SHA),), None,
                         ExtraFile("t.tar", 2, SHA))]).dumps())
    places = list(_paths(doc))
    parent, key = places[pick % len(places)]
    if drop and isinstance(parent, dict):
        del parent[key]
    else:
        parent[key] = copy.deepcopy(junk)
    assert _fast_validator().is_valid(doc) == _validator().is_valid(doc)


def test_valid_manifests_skip_the_reference_validator(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid manifest is judged by the fast validator alone; the reference one only words the
    errors of an invalid one (its messages are those of the table above)."""
    import reprocal.state._manifest as mod

    def refuse() -> None:
        raise AssertionError("reference validator used for a valid manifest")

    monkeypatch.setattr(mod, "_validator", refuse)
    assert loads(_manifest().dumps()).calibration_id == _manifest().calibration_id
