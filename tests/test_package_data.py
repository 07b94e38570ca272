"""What the wheel ships: every package of the source tree, and every data file the code reads
(release notes index, type tables, schemas...), read with ``importlib.resources`` from a path
``[tool.setuptools.package-data]`` declares, never beside ``__file__``."""

from __future__ import annotations

import ast
import fnmatch
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "reprocal"


def _setuptools() -> dict:  # type: ignore[type-arg]
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_dir(name: str, config: dict) -> Path:  # type: ignore[type-arg]
    mapped = config.get("package-dir", {})
    if name in mapped:
        return ROOT / mapped[name]
    return ROOT.joinpath(*name.split("."))


def _declared(package: str, rel: str, config: dict) -> bool:  # type: ignore[type-arg]
    """Whether ``rel`` (under ``package``) matches a glob of the package holding it, or of a
    package above it."""
    path = _package_dir(package, config) / rel
    for owner, globs in config["package-data"].items():
        base = _package_dir(owner, config)
        if base in path.parents:
            inner = path.relative_to(base).as_posix()
            if any(fnmatch.fnmatch(inner, glob) for glob in globs):
                return True
    return False


def resource_reads(source: Path) -> list[tuple[str, str, int]]:
    """(package, relative path, line) of every ``resources.files("pkg").joinpath("a/b")`` or
    ``resources.files("pkg") / "a"`` with literal names in ``source``."""
    out = []
    for node in ast.walk(ast.parse(source.read_text())):
        if not isinstance(node, ast.Call | ast.BinOp):
            continue
        base, parts = node, []
        while True:
            if (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
                    and base.func.attr == "joinpath" and base.args
                    and isinstance(base.args[0], ast.Constant)):
                parts.insert(0, str(base.args[0].value))
                base = base.func.value
            elif (isinstance(base, ast.BinOp) and isinstance(base.op, ast.Div)
                  and isinstance(base.right, ast.Constant)):
                parts.insert(0, str(base.right.value))
                base = base.left
            else:
                break
        if (parts and isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
                and base.func.attr == "files" and base.args
                and isinstance(base.args[0], ast.Constant)):
            out.append((str(base.args[0].value), "/".join(parts), node.lineno))
    return out


def test_every_package_of_the_tree_is_listed() -> None:
    config = _setuptools()
    tree = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")
            if "__pycache__" not in p.parts}
    listed = set(config["packages"])
    assert tree - listed == set(), "packages missing from pyproject.toml"
    assert {p for p in listed - tree if not _package_dir(p, config).is_dir()} == set()


def test_every_data_file_ships_in_the_wheel() -> None:
    """Each file of reprocal/data/ and of schemas/ matches a package-data glob."""
    config = _setuptools()
    missing = []
    for package in ("reprocal", "reprocal.schemas"):
        base = _package_dir(package, config)
        for f in base.rglob("*"):
            rel = f.relative_to(base).as_posix()
            if f.is_file() and not f.suffix == ".py" and "__pycache__" not in f.parts \
                    and (package != "reprocal" or rel.startswith("data/")):
                if not _declared(package, rel, config):
                    missing.append(f"{package}: {rel}")
    assert missing == []


def test_data_the_code_reads_is_declared_and_exists() -> None:
    """Every resource the package reads by a literal name (the release-notes index among them)
    exists and is declared package data; no module finds files beside ``__file__``."""
    config = _setuptools()
    reads, beside = [], []
    for source in sorted(PACKAGE.rglob("*.py")):
        where = source.relative_to(ROOT).as_posix()
        for package, rel, line in resource_reads(source):
            reads.append(rel)
            path = _package_dir(package, config) / rel
            assert path.exists(), f"{where}:{line}: {package}/{rel} does not exist"
            if path.is_file():
                assert _declared(package, rel, config), \
                    f"{where}:{line}: {package}/{rel} is not in [tool.setuptools.package-data]"
        if "__file__" in source.read_text() and where != "reprocal/_version.py":
            beside.append(where)  # (_version finds the checkout it runs from: no data)
    assert {"data/release_notes.json", "data/type_tasks.csv", "data/ccf_types.csv"} <= set(reads)
    assert beside == []
