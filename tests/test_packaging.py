"""The distributions as ``python -m build`` makes them: the sdist holds the sources, tests and
docs; the wheel built from it holds every module and every data file the code reads (the
schemas, reprocal/data), the licence and the metadata a published package carries; and the
wheel alone, away from the source tree, pins and verifies (reprocal 0.2.0.dev0 as first
packaged could not: its schemas were left out of the wheel, and every command that loads a
manifest ended in a traceback)."""

from __future__ import annotations

import ast
import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import reprocal

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli", reason="tomli needed on Python 3.10")

ROOT = Path(__file__).resolve().parent.parent


def _unmeasured(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """The environment without coverage's variables. Under `coverage run` (patch = subprocess)
    every child Python is measured; a build, or a copy of the package unpacked in a temporary
    tree, is not the reprocal under test, and its files, gone by report time, made `coverage
    report` fail with "No source for code" (CI did, once)."""
    return {k: v for k, v in env.items() if not k.startswith("COVERAGE_")}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SKIP = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build", "dist",
                              "demo-out", "work", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                              ".hypothesis", ".coverage*", "_build")


def _source_files(top: str) -> set[str]:
    """Files of the source tree under ``top`` as they ship (no caches)."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / top).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_every_package_is_listed() -> None:
    """``[tool.setuptools] packages`` is every directory of the package with modules or data,
    and ``reprocal.schemas`` (the top-level schemas/)."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    tree = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "reprocal").rglob("*")
            if p.is_dir() and p.name != "__pycache__"}
    assert listed == {"reprocal", *tree, "reprocal.schemas"}


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel, built as CI builds them (``python -m build``: the sdist, then
    the wheel from the unpacked sdist), offline, from a copy of the checkout."""
    pytest.importorskip("build", reason="build not installed (the test extra)")
    work = tmp_path_factory.mktemp("dists")
    src = Path(shutil.copytree(ROOT, work / "src", ignore=SKIP))
    env = _unmeasured(os.environ)
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir",
                           str(work / "dist"), str(src)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return {"sdist": sdist, "wheel": wheel, "work": work}


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(dists: dict[str, Path]) -> None:
    """Everything under reprocal/ and every schema (as reprocal/schemas/), the console
    script's module, nothing of the tests."""
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = set(z.namelist())
    want = {n for n in _source_files("reprocal")} | {
        f"reprocal/schemas/{p.name}" for p in (ROOT / "schemas").iterdir() if p.is_file()
        and p.name != "__pycache__"} | {"_reprocal_cli.py"}
    assert want - names == set()
    assert not {n for n in names if n.startswith(("tests/", "docs/", "schemas/"))}


LOADER = "reprocal/fs/_json.py"
"""The one module that opens a schema by a name its callers give (``load_schema(name)``)."""


def data_the_code_reads() -> dict[str, set[str]]:
    """Every package data file reprocal's modules name, as its path in the wheel -> the modules
    naming it: the string literals ``data/<file>``, a file name of reprocal/data/, and
    ``<name>.schema.json`` (what :func:`importlib.resources.files` is given, or the loader is
    called with)."""
    data_files = {p.name for p in (ROOT / "reprocal" / "data").iterdir() if p.is_file()}
    found: dict[str, set[str]] = {}
    for module in sorted((ROOT / "reprocal").rglob("*.py")):
        where = module.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(module.read_text(), where)):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            text = node.value
            if re.fullmatch(r"data/[\w.-]+", text):
                found.setdefault(f"reprocal/{text}", set()).add(where)
            elif text in data_files:
                found.setdefault(f"reprocal/data/{text}", set()).add(where)
            elif re.fullmatch(r"[\w.-]+\.schema\.json", text):
                found.setdefault(f"reprocal/schemas/{text}", set()).add(where)
    return found


def test_the_data_the_code_reads_is_found() -> None:
    """The scan finds what the code opens: each module that calls importlib.resources names
    its files (a name computed at run time would escape the check below, so it is refused
    here), each named file exists in the source tree, and the known ones are among them."""
    found = data_the_code_reads()
    naming = set().union(*found.values())
    opening = {p.relative_to(ROOT).as_posix() for p in (ROOT / "reprocal").rglob("*.py")
               if "resources.files(" in p.read_text()}
    assert opening - naming - {LOADER} == set()
    for wheel_path in found:
        source = ROOT / wheel_path.replace("reprocal/schemas/", "schemas/", 1)
        assert source.is_file(), (wheel_path, sorted(found[wheel_path]))
    assert {"reprocal/data/release_notes.json", "reprocal/data/type_tasks.csv",
            "reprocal/data/ccf_types.csv", "reprocal/data/demo_SCX00000SUM.SAS",
            "reprocal/schemas/manifest.schema.json", "reprocal/schemas/record.schema.json",
            "reprocal/schemas/sync-output.schema.json"} <= set(found)


@pytest.mark.slow
def test_the_wheel_holds_every_data_file_the_code_reads(dists: dict[str, Path]) -> None:
    """What the code opens through importlib.resources is in the wheel (reprocal 0.2.0.dev0
    as first packaged left the schemas out; a data file added to reprocal/data/ with a new
    suffix would be left out by a package-data pattern that does not match it)."""
    with zipfile.ZipFile(dists["wheel"]) as z:
        names = set(z.namelist())
    missing = {path: sorted(modules) for path, modules in data_the_code_reads().items()
               if path not in names}
    assert missing == {}


@pytest.mark.slow
def test_the_wheel_metadata(dists: dict[str, Path]) -> None:
    """The SPDX licence with its file, the docker extra, URLs, classifiers, the script."""
    with zipfile.ZipFile(dists["wheel"]) as z:
        info = next(n.split("/")[0] for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(z.read(f"{info}/METADATA"))
        licence = z.read(f"{info}/licenses/LICENSE").decode()
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    assert meta["Name"] == "reprocal" and meta["Version"] == reprocal.__version__
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert licence == (ROOT / "LICENSE").read_text()
    assert licence.startswith("BSD 3-Clause License\n\nCopyright (c) 2026, the reprocal developers")
    requires = meta.get_all("Requires-Dist")
    assert 'docker>=7.0; extra == "docker"' in requires
    assert not [r for r in requires if r.startswith("docker") and "extra" not in r]
    assert {"docker", "test", "dev", "docs"} <= set(meta.get_all("Provides-Extra"))
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Changelog", "Source"}
    assert all(u.startswith("https://reprocal.invalid/") for u in urls.values())
    assert "Topic :: Scientific/Engineering :: Astronomy" in meta.get_all("Classifier")
    assert "reprocal = _reprocal_cli:main" in entry_points


@pytest.mark.slow
def test_the_sdist_holds_what_a_packager_needs(dists: dict[str, Path]) -> None:
    """Sources, schemas, tests, docs, licence, changelog: enough to build, test and read."""
    with tarfile.open(dists["sdist"]) as t:
        top = t.getnames()[0].split("/")[0]
        names = {n.removeprefix(top + "/") for n in t.getnames()}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "Makefile",
            "_reprocal_cli.py", "docs/calibration-id.md",
            "tests/conftest.py"} <= names
    assert {f"schemas/{p.name}" for p in (ROOT / "schemas").glob("*.schema.json")} <= names
    assert _source_files("reprocal") - names == set()


@pytest.mark.slow
def test_the_wheel_alone_pins_and_verifies(dists: dict[str, Path], synthetic_repo) -> None:  # type: ignore[no-untyped-def]
    """The unpacked wheel first on the path, run from a directory outside the checkout:
    ``reprocal`` comes from the wheel, reads its schemas from there, pins and verifies, and
    ``--version`` names no commit."""
    site = dists["work"] / "site"
    with zipfile.ZipFile(dists["wheel"]) as z:
        z.extractall(site)
    run_in = dists["work"] / "elsewhere"
    run_in.mkdir()
    env = {**_unmeasured(os.environ), "PYTHONPATH": str(site),
           "XDG_CACHE_HOME": str(run_in / "cache")}

    def reprocal_(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "reprocal", *args], cwd=run_in, env=env,
                              capture_output=True, text=True, timeout=300)

    where = subprocess.run([sys.executable, "-c", "import reprocal; print(reprocal.__file__)"],
                           cwd=run_in, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(site)
    assert reprocal_("--version").stdout == f"reprocal {reprocal.__version__}\n"
    ccf = str(synthetic_repo.root)
    done = reprocal_("pin", "--obs-date", "2010-01-01", "--analysis-date", "2015-01-01",
                     "--ccf-path", ccf, "-o", "m.json")
    assert done.returncode == 0, done.stderr
    done = reprocal_("verify", "m.json", "--ccf-path", ccf, "--level", "full")
    assert (done.returncode, done.stderr) == (0, "")
    done = reprocal_("record", "verify", "m.json.prov.json")
    assert (done.returncode, done.stderr) == (0, "")
