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
