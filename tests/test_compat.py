"""The flat module names of reprocal 0.1 stay importable for a release, with a warning."""

from __future__ import annotations

import importlib
import sys

import pytest

from reprocal._compat import MOVED


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_module_name_warns_and_reexports(old: str) -> None:
    """``import reprocal.<old>`` warns where to import from now and gives the same objects."""
    sys.modules.pop(f"reprocal.{old}", None)
    with pytest.warns(DeprecationWarning, match=f"reprocal.{old} is deprecated: import from {MOVED[old]}"):
        module = importlib.import_module(f"reprocal.{old}")
    new = importlib.import_module(MOVED[old])
    assert module.__all__ == list(new.__all__)
    for name in new.__all__:
        assert getattr(module, name) is getattr(new, name)


def test_readme_names_of_0_1() -> None:
    """The names the 0.1 README imported still resolve to the same objects."""
    import reprocal

    for old in ("dates", "pin"):
        sys.modules.pop(f"reprocal.{old}", None)
    with pytest.warns(DeprecationWarning):
        from reprocal.dates import CalDate  # type: ignore[import-not-found]
        from reprocal.pin import ObsRequest, pin  # type: ignore[import-not-found]
    assert (CalDate, ObsRequest, pin) == (reprocal.CalDate, reprocal.ObsRequest, reprocal.pin)
