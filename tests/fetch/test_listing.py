"""Mirror listings: rsync --list-only, Apache and nginx index pages, a directory, a master index;
names only when canonical, sizes exact or unknown."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.components import program
from support.servers import MirrorServer, RsyncDaemon, make_files

from reprocal.errors import NetworkError
from reprocal.fetch._listing import list_mirror, parse_index, parse_rsync
from reprocal.fetch._mirrors import parse_mirror
from reprocal.fetch._transports import RetryPolicy

pytestmark = pytest.mark.network
QUICK = RetryPolicy(retries=0, connect_timeout=2, read_timeout=5)


RSYNC = """\
drwxr-xr-x          4,096 2014/04/12 06:00:05 .
-rw-r--r--         23,040 2014/04/12 06:00:05 RGS1_EFFAREACORR_0009.CCF
-rw-r--r--          2,880 2014/04/12 06:00:05 a b.CCF
lrwxrwxrwx             11 2014/04/12 06:00:05 LINK_X_0001.CCF
drwxr-xr-x          4,096 2014/04/12 06:00:05 extras
-rw-r--r--    70000000000 2014/04/12 06:00:05 XRT1_XPSF_0014.CCF
"""


def test_parse_rsync() -> None:
    """Regular files only, sizes with or without digit grouping, dates as UTC text."""
    assert parse_rsync(RSYNC) == [
        ("RGS1_EFFAREACORR_0009.CCF", 23040, "2014-04-12T06:00:05", None),
        ("a b.CCF", 2880, "2014-04-12T06:00:05", None),
        ("XRT1_XPSF_0014.CCF", 70000000000, "2014-04-12T06:00:05", None)]


PAGES = [
    # nginx: exact sizes; the link text may be cut, the href is the name
    ('<a href="../">../</a>\n<a href="EPN_CTI_0001.CCF">EPN_CTI_0001.C..&gt;</a>    '
     '12-Apr-2014 06:00               23040\n',
     [("EPN_CTI_0001.CCF", 23040, "12-Apr-2014 06:00", None)]),
    # Apache <pre>: rounded sizes are not sizes; bytes below 1K are
    ('<a href="?C=N;O=D">Name</a> <a href="/pub/">Parent Directory</a>  -\n'
     '<a href="EPN_CTI_0001.CCF">EPN_CTI_0001.CCF</a>  2014-04-12 06:00   23K  \n'
     '<a href="EPN_CTI_0002.CCF">EPN_CTI_0002.CCF</a>  2014-04-12 06:00  512  \n',
     [("EPN_CTI_0001.CCF", None, "2014-04-12 06:00", "23K"),
      ("EPN_CTI_0002.CCF", 512, "2014-04-12 06:00", None)]),
    # hrefs that are not plain names are never entries
    ('<a href="http://evil.example/EPN_CTI_0001.CCF">x</a>\n<a href="/etc/passwd">x</a>\n'
     '<a href="sub/EPN_CTI_0001.CCF">x</a>\n<a href="EPN_CTI_0001.CCF?x=1">x</a>\n'
     '<a href="%2E%2E%2FEPN_CTI_0001.CCF">x</a>\n<a href="./EPN_QE_0001.CCF">q</a>\n',
     [("EPN_QE_0001.CCF", None, None, None)]),
]


@pytest.mark.parametrize(("page", "rows"), PAGES)
def test_parse_index(page: str, rows: list) -> None:  # type: ignore[type-arg]
    """The name from the link, date and size from the text after it on its line or row."""
    assert [r for r in parse_index(page) if r[0].endswith(".CCF")] == rows


@pytest.fixture
def mirror(tmp_path: Path):  # type: ignore[no-untyped-def]
    items = make_files(tmp_path / "mirror", 6, size=[2880 * k for k in range(1, 7)])
    (tmp_path / "mirror" / "README.txt").write_text("not a constituent")
    (tmp_path / "mirror" / "epn_lower_0001.ccf").write_bytes(b"x" * 2880)
    (tmp_path / "mirror" / "extras").mkdir()
    return tmp_path / "mirror", items


@pytest.mark.parametrize("style", ["apache", "apache-table", "nginx"])
def test_http_index_pages(mirror, style: str) -> None:  # type: ignore[no-untyped-def]
    """Each server's page lists the same constituents; nginx's sizes are exact, Apache's
    rounded ones are unknown; other names are counted and ignored."""
    root, items = mirror
    with MirrorServer(root, index=style) as srv:
        listing = list_mirror(parse_mirror(srv.url), policy=QUICK)
    assert [e.name for e in listing.entries] == sorted(i.filename for i in items)
    assert listing.kind == "http-index" and listing.ignored >= 2
    sizes = [e.size for e in listing.entries]
    if style == "nginx":
        assert sizes == [i.size for i in sorted(items, key=lambda i: i.filename)]
    else:
        assert sizes == [None] * len(items)
        assert all(e.shown_size and e.shown_size.endswith("K") for e in listing.entries)


def test_no_index_page_is_a_network_error_unless_a_master_index_lists(mirror) -> None:  # type: ignore[no-untyped-def]
    """A server with indexes off (404): reprocal cannot know what it holds without a master
    index; with one, its rows are the listing."""
    from reprocal.core._constituent import Constituent
    from reprocal.core._names import ConstituentName

    root, items = mirror
    with MirrorServer(root) as srv:
        with pytest.raises(NetworkError, match="serves no directory index"):
            list_mirror(parse_mirror(srv.url), policy=QUICK)
        rows = [Constituent(ConstituentName.parse(i.filename), valdate="2000-01-01",
                            fsize=i.size) for i in items]
        listing = list_mirror(parse_mirror(srv.url), policy=QUICK,
                              master_index=("index.fits", rows))
    assert listing.kind == "master-index" and len(listing.entries) == 6


def test_unreachable_http_mirror_fails_at_once() -> None:
    """Connection refused: exit 5 in one try, naming the mirror."""
    from support.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/ccf/"
    with pytest.raises(NetworkError, match="cannot reach") as err:
        list_mirror(parse_mirror(url), policy=RetryPolicy(retries=3))
    assert err.value.exit_code == 5


def test_directory_listing(mirror) -> None:  # type: ignore[no-untyped-def]
    """A directory mirror is listed by the repository walker: exact sizes."""
    root, items = mirror
    listing = list_mirror(parse_mirror(str(root)))
    assert {e.name: e.size for e in listing.entries} == {i.filename: i.size for i in items}


def test_rsync_daemon_listing(tmp_path: Path, mirror) -> None:  # type: ignore[no-untyped-def]
    """A real rsync daemon's module: exact sizes and UTC dates, sub-directories ignored."""
    program("rsync")
    root, items = mirror
    work = tmp_path / "rsyncd"
    work.mkdir()
    with RsyncDaemon(root, work) as daemon:
        listing = list_mirror(parse_mirror(daemon.url), policy=QUICK)
        with pytest.raises(NetworkError, match="cannot list"):
            list_mirror(parse_mirror(daemon.url + "nowhere/"), policy=QUICK)
    assert {e.name: e.size for e in listing.entries} == {i.filename: i.size for i in items}
    assert all(e.mtime and e.mtime.endswith(e.mtime[-8:]) and "T" in e.mtime
               for e in listing.entries)
