"""The constituent name grammar SCOPE_TYPEID_NNNN.CCF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprocal.core._names import SCOPES, ConstituentName, is_constituent_name
from reprocal.errors import ConstituentNameError


@pytest.mark.parametrize(
    ("name", "scope", "typeid", "issue"),
    [
        ("EPN_QUANTUMEF_0017.CCF", "EPN", "QUANTUMEF", 17),
        ("emos1_aduconv_0079.ccf", "EMOS1", "ADUCONV", 79),
        ("XMM_MISCDATA_0022.CCF", "XMM", "MISCDATA", 22),
        ("RGS1_TEMPLATEBCKGND_9999.CCF", "RGS1", "TEMPLATEBCKGND", 9999),
        ("OM_BADPIX_0000.CCF", "OM", "BADPIX", 0),
    ],
)
def test_parse(name: str, scope: str, typeid: str, issue: int) -> None:
    """Names parse case-insensitively into scope, type and issue."""
    n = ConstituentName.parse(name)
    assert (n.scope, n.typeid, n.issue) == (scope, typeid, issue)
    assert n.filename == name.upper()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../EPN_CTI_0001.CCF", "'../EPN_CTI_0001.CCF' is not a bare constituent file name (it holds a path)"),
        ("sub/EPN_CTI_0001.CCF", "'sub/EPN_CTI_0001.CCF' is not a bare constituent file name (it holds a path)"),
        ("..", "'..' is not a bare constituent file name (it holds a path)"),
        ("EPN_CTI_1.CCF", "'EPN_CTI_1.CCF' is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF (e.g. EPN_QUANTUMEF_0017.CCF)"),
        ("EPN_CTI_0001.FITS", "'EPN_CTI_0001.FITS' is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF (e.g. EPN_QUANTUMEF_0017.CCF)"),
        ("FOO_CTI_0001.CCF", "unknown calibration scope 'FOO'; expected one of " + ", ".join(SCOPES)),
        ("EPN_ABCDEFGHIJKLMNOPQR_0001.CCF", "'EPN_ABCDEFGHIJKLMNOPQR_0001.CCF' is not a constituent name; expected SCOPE_TYPEID_NNNN.CCF (e.g. EPN_QUANTUMEF_0017.CCF)"),
    ],
)
def test_refused(name: str, message: str) -> None:
    """Anything but the exact grammar is refused before a file is touched."""
    with pytest.raises(ConstituentNameError) as err:
        ConstituentName.parse(name)
    assert err.value.one_line() == message
    assert not is_constituent_name(name)


def test_issue_range() -> None:
    """Issues are integers 0..9999."""
    with pytest.raises(ConstituentNameError, match="issue 10000 is not an integer in 0..9999"):
        ConstituentName("EPN", "CTI", 10000)


@given(st.sampled_from(SCOPES), st.from_regex(r"[A-Z0-9]{1,17}", fullmatch=True),
       st.integers(0, 9999))
def test_round_trip(scope: str, typeid: str, issue: int) -> None:
    """filename -> parse -> filename is the identity for every valid name."""
    n = ConstituentName(scope, typeid, issue)
    assert ConstituentName.parse(n.filename) == n
    assert ConstituentName.parse(n.filename.lower()) == n
