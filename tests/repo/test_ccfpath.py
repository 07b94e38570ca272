"""``SAS_CCFPATH``: one parser, one set of rules, errors naming where the path came from."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reprocal.errors import RepositoryError
from reprocal.repo._ccfpath import ccf_dirs

# (value, keyword arguments, $SAS_CCFPATH or None for unset, exact message); {t} is a directory
# holding a directory `a` and a file `f`.
REFUSED = [
    ("", {}, None,
     "no calibration directory given (ccf_path is empty); pass ccf_path=DIR or set SAS_CCFPATH"),
    (": :\t:", {}, None,
     "no calibration directory given (ccf_path is empty); pass ccf_path=DIR or set SAS_CCFPATH"),
    ([], {}, None,
     "no calibration directory given (ccf_path is empty); pass ccf_path=DIR or set SAS_CCFPATH"),
    ("", {"option": "--ccf-path"}, None,
     "no calibration directory given (--ccf-path is empty); pass --ccf-path DIR or set SAS_CCFPATH"),
    (None, {}, None,
     "no calibration directory given (SAS_CCFPATH is empty); pass ccf_path=DIR or set SAS_CCFPATH"),
    (None, {}, "::",
     "no calibration directory given (SAS_CCFPATH is empty); pass ccf_path=DIR or set SAS_CCFPATH"),
    (None, {"option": "--ccf-path"}, None,
     "no calibration directory given (SAS_CCFPATH is empty); pass --ccf-path DIR or set SAS_CCFPATH"),
    ("{t}/missing", {}, None,
     "ccf_path: {t}/missing is not a directory; check the path or create it"),
    ("{t}/a:{t}/missing", {"option": "--ccf-path"}, None,
     "--ccf-path: {t}/missing is not a directory; check the path or create it"),
    (None, {"option": "--ccf-path"}, "{t}/a:{t}/f",
     "SAS_CCFPATH: {t}/f is not a directory; check the path or create it"),
    (["{t}/a", "{t}/f"], {"option": "dirs"}, None,
     "dirs: {t}/f is not a directory; check the path or create it"),
    ("{t}/f", {"create_first": True}, None,
     "ccf_path: {t}/f is not a directory; check the path or create it"),
    ("{t}/new:{t}/missing", {"create_first": True, "option": "--ccf-path"}, None,
     "--ccf-path: {t}/missing is not a directory; check the path or create it"),
]


@pytest.fixture
def t(tmp_path: Path) -> Path:
    (tmp_path / "a").mkdir()
    (tmp_path / "f").write_text("not a directory")
    return tmp_path


def _fill(value: object, t: Path) -> object:
    if isinstance(value, str):
        return value.replace("{t}", str(t))
    if isinstance(value, list):
        return [_fill(v, t) for v in value]
    return value


@pytest.mark.parametrize(("value", "kwargs", "env", "message"), REFUSED)
def test_refused(t: Path, value: object, kwargs: dict[str, object], env: str | None,
                 message: str) -> None:
    """An empty path or a missing directory is one line naming the option, the parameter or
    the environment variable it came from; exit code 3."""
    environ = {} if env is None else {"SAS_CCFPATH": str(_fill(env, t))}
    with pytest.raises(RepositoryError) as err:
        ccf_dirs(_fill(value, t), environ=environ, **kwargs)  # type: ignore[arg-type]
    assert err.value.one_line() == _fill(message, t)
    assert err.value.exit_code == 3


def test_accepted(t: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Empty entries ignored, ``~`` expanded, relative paths made absolute, symbolic links
    resolved, order kept; a sequence gives one directory per element."""
    (t / "b").mkdir()
    (t / "link").symlink_to(t / "b")
    monkeypatch.setenv("HOME", str(t))
    monkeypatch.chdir(t)
    a, b = t / "a", t / "b"
    assert ccf_dirs(f"::{a}: :~/b:") == (a, b)
    assert ccf_dirs("a:link") == (a, b)
    assert ccf_dirs([a, "~/b", ""]) == (a, b)
    assert ccf_dirs(a) == (a,)
    assert ccf_dirs(None, environ={"SAS_CCFPATH": f"{b}:{a}"}) == (b, a)


def test_environment_is_the_default(t: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``None`` reads ``$SAS_CCFPATH`` of the process unless an environment is given."""
    monkeypatch.setenv("SAS_CCFPATH", str(t / "a"))
    assert ccf_dirs() == (t / "a",)
    assert ccf_dirs(None, environ={"SAS_CCFPATH": str(t)}) == (t,)


def test_first_directory_may_be_created(t: Path) -> None:
    """With ``create_first`` (fetch's destination) only the first directory may be missing;
    nothing is created by parsing."""
    assert ccf_dirs(f"{t}/new:{t}/a", create_first=True) == (t / "new", t / "a")
    assert not (t / "new").exists()


_NAME = st.text(st.characters(blacklist_characters=":/\0", blacklist_categories=("Cs",)),
                min_size=1, max_size=12).filter(lambda s: s.strip() and s not in (".", ".."))


@settings(max_examples=60, deadline=None)
@given(names=st.lists(_NAME, min_size=1, max_size=5))
def test_colon_joined_directories_round_trip(names: list[str]) -> None:
    """Any colon-joined list of existing directories gives back those directories, in order,
    duplicates kept; the sequence form gives the same."""
    with tempfile.TemporaryDirectory() as top:
        root = Path(top).resolve()
        dirs = [root / n for n in names]
        for d in dirs:
            d.mkdir(exist_ok=True)
        joined = ":".join(os.fspath(d) for d in dirs)
        assert ccf_dirs(joined) == tuple(dirs)
        assert ccf_dirs(dirs) == tuple(dirs)
