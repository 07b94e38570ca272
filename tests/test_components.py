"""The real programs the tests use: one list (tests/components.txt) that ``scripts/components``
installs from and :mod:`support.components` skips by, each skip naming the program, its package
and how to get it; and no test looks for a program any other way (so none fails where one is
missing: it skips)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from support.components import LIST, missing_reason, needs, packages, program

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "components"


def test_the_list_names_each_program_and_its_package() -> None:
    """Every program of the list, with the package that brings it (today's set at least)."""
    known = packages()
    assert {p: pkg for p, (pkg, _) in known.items()}.items() >= {
        "rsync": "rsync", "dockerd": "docker.io", "busybox": "busybox-static", "umoci": "umoci",
        "skopeo": "skopeo", "docker-registry": "docker-registry", "curl": "curl"}.items()
    assert all(why for _, why in known.values())


def test_a_missing_program_skips_with_its_reason(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception) as skipped:
        program("dockerd")
    assert str(skipped.value) == (
        "dockerd not found on PATH (Debian package docker.io, for a private Docker daemon: image "
        "verify --docker, run --image; `make test` as root installs it)")
    assert missing_reason("nosuchtool") == "nosuchtool not found on PATH"
    mark = needs("umoci", "skopeo")
    assert mark.args == (True,)
    assert mark.kwargs["reason"].startswith("umoci not found on PATH (Debian package umoci, ")
    assert "; skopeo not found on PATH (Debian package skopeo, " in mark.kwargs["reason"]


def test_a_program_on_path_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe = tmp_path / "umoci"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert program("umoci") == exe
    assert needs("umoci").args == (False,)


def _fake_machine(tmp_path: Path, *, uid: int, installed: set[str]) -> dict[str, str]:
    """A PATH where ``id -u`` says ``uid``, ``dpkg-query`` knows ``installed`` and ``apt-get``
    records what it was asked (in ``apt.log``), then the real tools the script uses."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (fake / "dpkg-query").write_text(
        "#!/bin/sh\nfor p in " + " ".join(sorted(installed)) + "; do\n"
        '  [ "$p" = "$3" ] && echo "install ok installed" && exit 0\ndone\nexit 1\n')
    (fake / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "apt.log"}\n')
    for exe in fake.iterdir():
        exe.chmod(0o755)
    return {**os.environ, "PATH": f"{fake}:/usr/bin:/bin"}


def test_the_install_script_reads_the_same_list(tmp_path: Path) -> None:
    """Not root: the script installs nothing and names every package missing, in the list's
    order, with how to install them; it does not fail (the tests skip)."""
    done = subprocess.run([str(SCRIPT)], env=_fake_machine(tmp_path, uid=1000, installed=set()),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    wanted = [line.split()[0] for line in LIST.read_text().splitlines()
              if line.split("#")[0].strip()]
    assert f"components: not installed: {' '.join(wanted)} (install them as root" in done.stdout
    assert not (tmp_path / "apt.log").exists()
    assert set(wanted) == {pkg for pkg, _ in packages().values()}


def test_as_root_it_installs_only_what_is_missing(tmp_path: Path) -> None:
    """Root with apt-get: ``apt-get install`` of the missing packages alone; ``--require``
    (CI) fails when they are still missing afterwards."""
    env = _fake_machine(tmp_path, uid=0, installed={"rsync", "curl", "git"})
    done = subprocess.run([str(SCRIPT), "--require"], env=env, capture_output=True, text=True,
                          timeout=60)
    calls = (tmp_path / "apt.log").read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].startswith("install -y -qq --no-install-recommends docker.io busybox-static")
    assert not {"rsync", "curl", "git"} & set(calls[1].split())
    assert done.returncode == 1  # the fake apt-get installed nothing
    assert "components: not installed: docker.io busybox-static" in done.stderr


def test_nothing_to_do_when_all_are_installed(tmp_path: Path) -> None:
    everything = {pkg for pkg, _ in packages().values()}
    done = subprocess.run([str(SCRIPT), "--require"], capture_output=True, text=True,
                          env=_fake_machine(tmp_path, uid=0, installed=everything), timeout=60)
    assert done.returncode == 0
    assert done.stdout.startswith("components: all installed (")
    assert not (tmp_path / "apt.log").exists()


def test_no_test_looks_for_a_program_another_way() -> None:
    """A test looking a program up itself (shutil.which of its name, or its absolute path in
    /bin) would fail, or skip without the reason, where the program is missing: only
    support.components looks."""
    names = "|".join(map(re.escape, packages()))
    lookup = re.compile(rf"""which\(\s*["']({names})["']|["'](/usr)?/s?bin/({names})["']""")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p != ROOT / "tests" / "support" / "components.py"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if lookup.search(line)]
    assert offenders == []
