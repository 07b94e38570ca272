"""``api.verify`` and ``api.verify_repository``: a check that found problems is a result, not
an exception."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reprocal import api
from reprocal.errors import CheckFailed
from reprocal.testing._synthetic import corrupt

OBS, AN = "2010-01-01", "2020-01-01"


def test_problems_are_reported_not_raised(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A flipped byte: the result says which file and why; raise_if_failed() raises the
    CheckFailed the CLI exits 1 with."""
    copy = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    pinned = api.pin(obs_date=OBS, analysis_date=AN, ccf_path=copy, output=tmp_path / "m.json")
    victim = pinned.manifest.files[0].filename
    corrupt(copy / victim)
    r = api.verify(pinned.manifest, ccf_path=copy, level="fits", rehash=True)
    assert not r.ok and [x.filename for x in r.report.problems()] == [victim]
    assert r.to_json()["manifest"] is None and r.to_json()["ok"] is False
    with pytest.raises(CheckFailed) as info:
        r.raise_if_failed()
    assert info.value.one_line() == (f"1 of {len(pinned.manifest.files)} pinned constituents are "
                                     "not as pinned; `reprocal fetch` can restore them")


def test_newer_issues_are_found(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A state pinned with an old analysis date: the repository holds newer issues now."""
    pinned = api.pin(obs_date="2004-01-01", analysis_date="2008-01-01", ccf_path=synthetic_repo.root,
                     output=tmp_path / "m.json")
    r = api.verify(tmp_path / "m.json", ccf_path=synthetic_repo.root)
    assert r.ok and r.newer and all(n.pinned in {f.filename for f in pinned.manifest.files}
                                    for n in r.newer)
    assert r.to_json()["manifest"] == str(tmp_path / "m.json")


@pytest.mark.parametrize(("obs", "an"), [("2004-01-01", "2008-01-01"), ("2012-06-01", "2014-01-01"),
                                       ("2001-01-01", "2026-01-01")])
def test_newer_issues_read_only_what_could_be_newer(synthetic_repo, tmp_path: Path, obs: str,  # type: ignore[no-untyped-def]
                                                    an: str) -> None:
    """``verify`` builds constituents only above each pinned issue: its findings are those of
    the drift rule over every constituent present (the first implementation)."""
    from reprocal.core._dates import resolve
    from reprocal.core._drift import newer_issues
    from reprocal.repo._repository import Repository

    m = api.pin(obs_date=obs, analysis_date=an, ccf_path=synthetic_repo.root,
                output=tmp_path / "m.json").manifest
    with Repository(synthetic_repo.root) as repo:
        every = newer_issues(list(zip(m.labels(), m.observations, strict=True)),
                             [lf.constituent for lf in repo.present()], today=resolve("now"),
                             withdrawals=repo.withdrawals())
    assert api.verify(m, ccf_path=synthetic_repo.root).newer == tuple(every)


def test_the_repository_check_is_a_result(synthetic_repo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file that is no constituent fails the repository check, reported."""
    copy = Path(shutil.copytree(synthetic_repo.root, tmp_path / "ccf"))
    (copy / "EPN_JUNK_0001.CCF").write_bytes(b"not FITS")
    r = api.verify_repository(ccf_path=copy, catalog=tmp_path / "c.sqlite")
    assert not r.ok and r.failure is not None and r.failure.exit_code == 1
    assert [e.name for e in r.report.problems()] == ["EPN_JUNK_0001.CCF"]


def test_verify_lists_the_repository_once(synthetic_repo, tmp_path: Path,  # type: ignore[no-untyped-def]
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The pinned files and the catalogue's refresh (for the newer-issue check) come from one
    listing of each directory."""
    import os

    api.pin(obs_date=OBS, analysis_date=AN, ccf_path=synthetic_repo.root,
            output=tmp_path / "m.json")
    real, listed = os.scandir, []

    def counting(path=".", *args, **kw):  # type: ignore[no-untyped-def]
        listed.append(os.fspath(path))
        return real(path, *args, **kw)

    monkeypatch.setattr(os, "scandir", counting)
    r = api.verify(tmp_path / "m.json", ccf_path=synthetic_repo.root)
    assert r.ok and r.newer is not None
    assert listed.count(str(synthetic_repo.root.resolve())) == 1
