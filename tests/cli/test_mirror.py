"""``reprocal sync``, ``history`` and ``fingerprint`` as a user runs them: what they print, their
exit codes, and one line for each error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.archive import Archive, C

pytestmark = pytest.mark.network


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    a = Archive(tmp_path / "mirror")
    for n in ("EPN_CTI_0001.CCF", "EPN_QE_0001.CCF", "OM_FILTER_0001.CCF"):
        a.publish(C(n))
    dest = tmp_path / "ccf"
    dest.mkdir()
    return a, dest


def test_sync_history_and_a_withdrawal(world, cli) -> None:  # type: ignore[no-untyped-def]
    """A first sync, a no-change sync, a withdrawal (one warning line; the file kept), and the
    history that says so."""
    a, dest = world
    first = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[1].startswith("  arrived 3, failed 0, newly listed 3, "
                                                   "withdrawn 0")
    again = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest), "--json")
    assert json.loads(again.stdout)["counts"]["arrived"] == 0 and again.stderr == ""
    a.withdraw("OM_FILTER_0001.CCF")
    gone = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    assert gone.returncode == 0
    (line,) = gone.stderr.splitlines()
    assert line.startswith(f"reprocal: warning: OM_FILTER_0001.CCF is no longer listed by "
                           f"{a.root}: recorded as withdrawn on ")
    assert (dest / "OM_FILTER_0001.CCF").exists()
    h = cli("history", "--ccf-path", str(dest))
    assert h.returncode == 0
    assert "3 sync(s); holds 3 file(s); chain and schema checked" in h.stdout
    assert f"  withdrawn: OM_FILTER_0001.CCF withdrawn from {a.root} since " in h.stdout
    doc = json.loads(cli("history", "--ccf-path", str(dest), "--on", "2000-01-01",
                         "--json").stdout)
    assert doc["held_on"]["known"] is False and doc["held_on"]["files"] == []


def test_a_conflict_exits_1_and_keeps_ours(world, cli) -> None:  # type: ignore[no-untyped-def]
    """The mirror's file changed size under the same name: CONFLICT is printed, exit 1, ours
    kept; the next sync knows it and exits 0."""
    a, dest = world
    cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    ours = (dest / "EPN_QE_0001.CCF").read_bytes()
    a.change("EPN_QE_0001.CCF", blocks=7)
    done = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    assert done.returncode == 1
    assert ("  CONFLICT EPN_QE_0001.CCF: the mirror's file differs (20160 bytes listed, ours "
            "8640); ours is kept") in done.stdout
    assert done.stderr.splitlines()[-1] == (
        "reprocal: error: 1 file(s) differ on the mirror under the same name: EPN_QE_0001.CCF; "
        "the local files were kept; see the conflicts above and in `reprocal history`")
    assert (dest / "EPN_QE_0001.CCF").read_bytes() == ours
    known = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    assert known.returncode == 0 and "  known CONFLICT EPN_QE_0001.CCF" in known.stdout


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--subset", "most"], 2, "reprocal: error: --subset: 'most' is not all, valid-now or a date "
                              "(YYYY-MM-DD[Thh:mm:ss])"),
    (["--mirror", "ftp://example.org/"], 2, "reprocal: error: --mirror: mirror "
                                           "'ftp://example.org/' has unsupported scheme 'ftp'; "
                                           "use http(s)://, file://, rsync://, host::module or a "
                                           "directory"),
    (["--subset", "valid-now"], 2, "reprocal: error: the subset valid-now needs the "
                                   "constituents' dates, and nothing knows the dates of the 3 "
                                   "files the mirror lists; give --master-index FILE (a master "
                                   "index of the archive), or sync --subset all"),
])
def test_sync_errors_are_one_line(world, cli, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    a, dest = world
    base = ["--mirror", str(a.root)] if "--mirror" not in args else []
    done = cli("sync", *base, "--ccf-path", str(dest), "--catalog", str(dest.parent / "c.db"),
               *args)
    assert (done.returncode, done.stderr) == (code, message + "\n")


def test_an_unreachable_mirror_is_exit_5(world, cli) -> None:  # type: ignore[no-untyped-def]
    from support.servers import free_port

    _, dest = world
    done = cli("sync", "--mirror", f"http://127.0.0.1:{free_port()}/ccf/", "--ccf-path", str(dest))
    assert done.returncode == 5 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("reprocal: error: cannot reach http://127.0.0.1:")


def test_cif_held_on_needs_a_history(world, cli) -> None:  # type: ignore[no-untyped-def]
    """Without a history nothing can say what the repository held: exit 3, one line."""
    a, _ = world
    done = cli("cif", "--obs-date", "2010-01-01", "--analysis-date", "2014-01-01", "--held-on",
               "2014-01-01", "--ccf-path", str(a.root), "-o", str(a.root.parent / "x.cif"))
    assert done.returncode == 3
    assert done.stderr == (f"reprocal: error: {a.root} has no mirror history, so what it held "
                           "on 2014-01-01T00:00:00 is not known; histories are written by "
                           "`reprocal sync`\n")


def test_fingerprint_against_a_mirror_and_a_site(world, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Same as the mirror (names and sizes): exit 0; a site missing a file: exit 1, said."""
    a, dest = world
    cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    same = cli("fingerprint", "--ccf-path", str(dest), "--against", a.root.as_uri())
    assert same.returncode == 0, same.stderr
    assert "(listing): the same (compared: names-sizes)" in same.stdout
    saved = tmp_path / "site.json"
    saved.write_text(cli("fingerprint", "--ccf-path", str(dest), "--json").stdout)
    other = tmp_path / "other"
    other.mkdir()
    (other / "EPN_CTI_0001.CCF").write_bytes((dest / "EPN_CTI_0001.CCF").read_bytes())
    done = cli("fingerprint", "--ccf-path", str(other), "--against", str(saved))
    assert done.returncode == 1
    assert "  only there: EPN_QE_0001.CCF" in done.stdout
    assert done.stderr.startswith("reprocal: error: ")


def test_audit_explains_a_change_by_the_withdrawal(world, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A CIF made before a withdrawal, audited after it: the withdrawal is said first, and the
    change today's selection makes is explained by the withdrawal, not called a stale mirror
    (no newer issue caused it: the one used left the archive)."""
    a, dest = world
    a.publish(C("EPN_CTI_0002.CCF", subdate="2014-02-01"))
    cat = ["--catalog", str(tmp_path / "c.db")]
    assert cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest)).returncode == 0
    cif = tmp_path / "early.cif"
    made = cli("cif", "--obs-date", "2010-01-01", "--analysis-date", "2020-01-01",
               "--ccf-path", str(dest), "-o", str(cif), *cat)
    assert made.returncode == 0, made.stderr
    a.withdraw("EPN_CTI_0002.CCF")
    assert cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest)).returncode == 0
    done = cli("audit", str(cif), "--ccf-path", str(dest), *cat)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "  used 1 constituent(s) since withdrawn from the archive:"
    assert lines[2].startswith(f"    EPN_CTI_0002.CCF: withdrawn from {a.root} since ")
    (change,) = [x for x in lines if x.startswith("    EPN CTI: ")]
    assert change.startswith("    EPN CTI: issue 2 (submitted 2014-02-01) -> 1 (submitted "
                             f"2001-01-01); issue 2 was withdrawn from {a.root} since ")
    assert change.endswith(", after the product's analysis date: today's selection skips it")
    assert "stale" not in change


def test_a_reduced_mirror_says_what_it_lacks(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """`sync --subset valid-now --master-index FILE` (a master index kept outside the mirror)
    mirrors what today's rule can select; `cif` for a historic analysis date over that
    repository then says which issue the reduced mirror lacks, before anyone relies on it."""
    from reprocal.fits._calindex import write_master_index

    a = Archive(tmp_path / "mirror")
    cs = [C("EPN_CTI_0001.CCF", subdate="2001-01-01"), C("EPN_CTI_0002.CCF", subdate="2005-01-01"),
          C("EPN_CTI_0003.CCF", subdate="2012-01-01"), C("OM_FILTER_0001.CCF", subdate="2001-01-01")]
    for c in cs:
        a.publish(c)
    index = tmp_path / "archive.mif"
    write_master_index(index, cs)
    dest, cat = tmp_path / "ccf", ["--catalog", str(tmp_path / "c.db")]
    done = cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest), "--subset", "valid-now",
               "--master-index", str(index), *cat, "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dest.glob("*.CCF")) == ["EPN_CTI_0003.CCF", "OM_FILTER_0001.CCF"]
    old = cli("cif", "--obs-date", "2004-06-01", "--analysis-date", "2008-01-01", "--ccf-path",
              str(dest), "-o", str(tmp_path / "old.cif"), *cat)
    assert old.returncode == 0
    assert old.stderr.splitlines()[:2] == [
        "reprocal: warning: EPN_CTI_0002.CCF (submitted 2005-01-01T00:00:00) is eligible but "
        "missing locally; the type would be absent from the CIF",
        "reprocal: warning: 1 newer eligible issue(s) missing: cifbuild would silently use older "
        "ones; `reprocal fetch` can fill the gaps"]


def test_fingerprint_against_apache_compares_names_only(world, cli) -> None:  # type: ignore[no-untyped-def]
    """Apache's index page rounds sizes (``8.4K``): against it nothing but names can be
    compared, and fingerprint says so instead of claiming sizes were; nginx shows exact sizes."""
    from support.servers import MirrorServer

    a, dest = world
    cli("sync", "--mirror", str(a.root), "--ccf-path", str(dest))
    with MirrorServer(a.root, index="apache") as apache, \
            MirrorServer(a.root, index="nginx") as nginx:
        rounded = cli("fingerprint", "--ccf-path", str(dest), "--against", apache.url)
        exact = cli("fingerprint", "--ccf-path", str(dest), "--against", nginx.url, "--json")
    assert rounded.returncode == 0, rounded.stderr
    assert "(listing): the same (compared: names)" in rounded.stdout
    assert ("  3 file(s) compared by name only (no sha256, and no exact size: the listing rounds "
            "them)") in rounded.stdout
    assert "by name and size" not in rounded.stdout
    doc = json.loads(exact.stdout)["comparison"]
    assert (doc["level"], doc["unjudged"], doc["unsized"]) == ("names-sizes", 3, 0)
