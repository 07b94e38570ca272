"""CI's run of this suite against the wheel: the reprocal under test is the installed one, never
the checkout the tests come from (``REPROCAL_TEST_INSTALLED=1``, set by ``.ci/run``; other runs
skip these, saying so)."""

from __future__ import annotations

import json
import os
import sys
from importlib import metadata, resources
from pathlib import Path

import pytest

import _reprocal_cli
import reprocal
from reprocal._version import git_commit

CHECKOUT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    os.environ.get("REPROCAL_TEST_INSTALLED") != "1",
    reason="only in CI's run against the installed wheel (REPROCAL_TEST_INSTALLED=1)")


def test_reprocal_is_the_installed_package() -> None:
    """Imported from site-packages, not the checkout; the checkout is not on the path; the
    console script's module is the wheel's too."""
    here = Path(reprocal.__file__).resolve()
    assert not here.is_relative_to(CHECKOUT), here
    assert "site-packages" in here.parts
    assert not Path(_reprocal_cli.__file__).resolve().is_relative_to(CHECKOUT)
    assert not [p for p in sys.path if p and Path(p).resolve() == CHECKOUT]
    assert os.getcwd() != str(CHECKOUT) and not Path.cwd().is_relative_to(CHECKOUT)


def test_its_data_comes_from_the_wheel() -> None:
    """The schemas and data files are read from the installed package, and each file of the
    source tree's schemas/ and reprocal/data/ is there."""
    schemas = resources.files("reprocal.schemas")
    assert not Path(str(schemas)).resolve().is_relative_to(CHECKOUT)
    shipped = {p.name for p in schemas.iterdir()}
    assert {p.name for p in (CHECKOUT / "schemas").glob("*.schema.json")} <= shipped
    data = {p.name for p in resources.files("reprocal.data").iterdir()}
    assert {p.name for p in (CHECKOUT / "reprocal" / "data").iterdir()} <= data


def test_it_is_installed_from_a_wheel_not_editable() -> None:
    """An editable install would point back to the checkout (a direct_url.json saying so)."""
    dist = metadata.distribution("reprocal")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    assert direct.get("dir_info", {}).get("editable") is not True, direct
    assert dist.version == reprocal.__version__
    assert git_commit() is None
