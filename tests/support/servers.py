"""Loopback mirrors for tests and benchmarks: an HTTP server that misbehaves on request, and an
rsync daemon. Both bind 127.0.0.1 only and are stopped by whoever started them.

Faults (per file name, see :class:`Fault`): ``404``; ``500`` for the first N requests then the
file; ``drop`` (the connection closes after ``at`` bytes of a full-length response); ``corrupt``
(right size, wrong bytes); ``short`` (a shorter file, consistent headers); ``trickle`` (chunks of
``chunk`` bytes every ``delay`` seconds: with ``chunk=1``, a mirror that drips bytes);
``norange`` (Range ignored: 200 and the whole file); ``endless`` (200 with no length, then bytes
without end: only the server's own bound of :data:`ENDLESS_CAP` bytes stops it);
``longer``/``shorter`` (a ``Content-Length`` of ``at`` bytes more or fewer than the body sent);
``gzip`` (the body gzip-compressed with ``Content-Encoding: gzip`` although identity was asked;
``at`` zero bytes compressed: a gzip bomb); ``garbage`` (bytes that are not HTTP at all);
``html`` (200 with an HTML page); ``redirect`` (302 to itself, for ever).

Directory index pages: with ``index="apache"`` (``mod_autoindex`` FancyIndexing in a ``<pre>``,
sizes rounded as Apache rounds them: ``23K``), ``"apache-table"`` (the same with ``HTMLTable``,
Debian's default) or ``"nginx"`` (``autoindex``, exact sizes), ``GET /ccf/`` lists ``root`` as
that server would; ``listing_sizes`` makes the page lie about sizes (name -> size shown), and
``listing_extra`` adds lines verbatim (hostile hrefs). Without ``index`` the directory is 404,
as on a server with indexes off.

:class:`FakeRegistry` answers a registry's ``/v2/`` paths with whatever a test sets, to play a
registry that answers HTML, truncated or endless JSON, or manifests with fields of the wrong type.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import random
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from reprocal.fetch._engine import FetchItem


@dataclass
class Fault:
    kind: str
    """404, 500, drop, corrupt, short, trickle, norange."""
    times: int | None = None
    """How many requests misbehave (None: all of them)."""
    at: int = 1000
    """drop: bytes sent before the connection is closed."""
    chunk: int = 512
    """trickle: bytes per write."""
    delay: float = 0.01
    """trickle: seconds between writes."""
    seen: int = 0


ENDLESS_CAP = 256 << 20
"""The most an ``endless`` body sends before the server gives up on its own (a test's bound)."""


def _framed(body: bytes, kind: str | None, fault: Fault | None) -> tuple[bytes, int]:
    """The body to send and the Content-Length to announce, as the fault says."""
    if kind == "gzip":
        body = gzip.compress(body + b"\0" * fault.at)  # type: ignore[union-attr]
        return body, len(body)
    if kind == "longer":
        return body, len(body) + fault.at  # type: ignore[union-attr]
    if kind == "shorter":
        return body, max(0, len(body) - fault.at)  # type: ignore[union-attr]
    return body, len(body)


@dataclass
class Request:
    name: str
    range: str | None
    status: int
    completed: bool = False


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # clients drop connections on purpose in these tests


@dataclass
class MirrorServer:
    """``with MirrorServer(dir) as srv: srv.url`` serves ``dir`` at ``http://127.0.0.1:PORT/ccf/``.

    ``nested``: files below subdirectories are served too (a CCF server's ``extras/``), and a
    directory (``.../``) answers an index page linking its entries, as Apache or Python's
    ``http.server`` do; a ``..`` or hidden part is a 404."""

    root: Path
    faults: dict[str, Fault] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    nested: bool = False
    index: str | None = None
    """``apache``, ``apache-table`` or ``nginx``: serve a directory index page at ``/ccf/``."""
    listing_sizes: dict[str, int] = field(default_factory=dict)
    """Sizes the index page shows instead of the real ones (a listing that lies)."""
    listing_extra: list[str] = field(default_factory=list)
    """Raw lines added to the index page."""
    latency: float = 0.0
    """Seconds every request waits before its answer (a distant mirror's round trip)."""
    rate: float | None = None
    """Bytes a second each connection sends at most (a real mirror's per-connection share),
    paced in 64 KiB steps; ``None``: as fast as loopback goes."""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                if server.latency:
                    time.sleep(server.latency)
                server._serve(self)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/ccf/"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> MirrorServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def gets(self, name: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if name is None or r.name == name]

    def completed(self) -> set[str]:
        with self._lock:
            return {r.name for r in self.requests if r.completed}

    def _fault(self, name: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(name)
            if fault is None or (fault.times is not None and fault.seen >= fault.times):
                return None
            fault.seen += 1
            return fault

    def _directory(self, h: BaseHTTPRequestHandler, name: str) -> bool:
        """Answer a directory's index page when there is one to give (see the class)."""
        if name == "" and self.index is not None:
            self._index_page(h)
            return True
        if self.nested and (name == "" or name.endswith("/")):
            self._index(h, name)
            return True
        return False

    def _servable(self, name: str) -> bool:
        if "/" not in name:
            return True
        parts = name.split("/")
        return self.nested and not any(p in ("", ".", "..") or p.startswith(".") for p in parts)

    def _index(self, h: BaseHTTPRequestHandler, name: str) -> None:
        path = self.root / name
        if (name and not self._servable(name.rstrip("/"))) or not path.is_dir():
            return self._status(h, name, 404)
        links = "".join(f'<a href="{p.name}{"/" if p.is_dir() else ""}">{p.name}</a>\n'
                        for p in sorted(path.iterdir()) if not p.name.startswith("."))
        body = f'<html><body><a href="../">..</a>\n{links}</body></html>'.encode()
        self._record(Request(name, None, 200))
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        return None

    def _record(self, req: Request) -> Request:
        with self._lock:
            self.requests.append(req)
        return req

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        if not h.path.startswith("/ccf/"):
            return self._status(h, "", 404)
        name = unquote(h.path[len("/ccf/"):])
        if self._directory(h, name):
            return None
        path = self.root / name
        fault = self._fault(name)
        kind = fault.kind if fault else None
        whole = {"garbage": self._garbage, "redirect": self._redirect, "html": self._page,
                 "endless": self._endless}.get(kind or "")
        if whole is not None:  # faults that answer for the whole request
            return whole(h, name, fault)  # type: ignore[arg-type]
        if kind == "404" or not self._servable(name) or not path.is_file():
            return self._status(h, name, 404)
        if kind == "500":
            return self._status(h, name, 500)
        data = path.read_bytes()
        if kind == "corrupt":
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        elif kind == "short":
            data = data[: len(data) // 2]
        start = 0
        rng = h.headers.get("Range")
        m = re.match(r"bytes=(\d+)-$", rng or "")
        if m and kind != "norange":
            start = int(m.group(1))
            if start >= len(data):
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{len(data)}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                self._record(Request(name, rng, 416))
                return None
        status = 206 if start else 200
        req = self._record(Request(name, rng, status))
        body, length = _framed(data[start:], kind, fault)
        if kind in ("longer", "shorter"):
            h.close_connection = True
        h.send_response(status)
        h.send_header("Content-Length", str(length))
        if kind == "gzip":
            h.send_header("Content-Encoding", "gzip")
        h.send_header("Accept-Ranges", "none" if kind == "norange" else "bytes")
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if kind == "drop":
            h.send_header("Connection", "close")
        h.end_headers()
        try:
            req.completed = self._write(h, body, kind, fault)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        return None

    def _write(self, h: BaseHTTPRequestHandler, body: bytes, kind: str | None,
               fault: Fault | None) -> bool:
        """Send the body as the fault says; whether it was all sent."""
        if kind == "drop":
            h.wfile.write(body[: fault.at])  # type: ignore[union-attr]
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return False
        if kind == "trickle":
            for i in range(0, len(body), fault.chunk):  # type: ignore[union-attr]
                if self._stopping.is_set():
                    h.close_connection = True
                    return False
                h.wfile.write(body[i: i + fault.chunk])  # type: ignore[union-attr]
                h.wfile.flush()
                time.sleep(fault.delay)  # type: ignore[union-attr]
            return True
        if self.rate:
            step, began = 1 << 16, time.monotonic()
            for i in range(0, len(body), step):
                h.wfile.write(body[i: i + step])
                ahead = began + (i + step) / self.rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            return True
        h.wfile.write(body)
        return True

    def _garbage(self, h: BaseHTTPRequestHandler, name: str, fault: Fault) -> None:
        self._record(Request(name, None, 0))
        h.wfile.write(b"\x00\xffSSH-2.0-nonsense\r\n\r\n" * 8)
        h.close_connection = True

    def _redirect(self, h: BaseHTTPRequestHandler, name: str, fault: Fault) -> None:
        self._record(Request(name, None, 302))
        h.send_response(302)
        h.send_header("Location", h.path)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _endless(self, h: BaseHTTPRequestHandler, name: str, fault: Fault) -> None:
        """200 without a length, then ``chunk``-byte writes until the client goes away, the
        server stops, or :data:`ENDLESS_CAP` bytes."""
        self._record(Request(name, h.headers.get("Range"), 200))
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        block = b"\x5a" * max(1, fault.chunk)
        sent = 0
        try:
            while sent < ENDLESS_CAP and not self._stopping.is_set():
                h.wfile.write(block)
                sent += len(block)
                if fault.delay:
                    time.sleep(fault.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    def _page(self, h: BaseHTTPRequestHandler, name: str, fault: Fault) -> None:
        self._record(Request(name, None, 200))
        body = b"<html><body><h1>Maintenance</h1>Back soon.</body></html>\n"
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _index_page(self, h: BaseHTTPRequestHandler) -> None:
        self._record(Request("", None, 200))
        files = sorted(p for p in self.root.iterdir() if p.is_file() and not p.name.startswith("."))
        style = {"apache": apache_index, "apache-table": apache_table_index,
                 "nginx": nginx_index}[self.index]  # type: ignore[index]
        rows = [(p.name, self.listing_sizes.get(p.name, p.stat().st_size), p.stat().st_mtime)
                for p in files]
        body = style(rows, self.listing_extra).encode()
        h.send_response(200)
        h.send_header("Content-Type", "text/html;charset=UTF-8")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _status(self, h: BaseHTTPRequestHandler, name: str, status: int) -> None:
        self._record(Request(name, h.headers.get("Range"), status))
        body = f"{status}\n".encode()
        h.send_response(status)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def apache_size(n: int) -> str:
    """A size as Apache's ``apr_strfsize`` writes it: bytes below 973, then one decimal below
    9.95 units, else a whole number (``23K``, ``1.2M``)."""
    if n < 973:
        return f"{n:3d} "
    for unit in "KMGTPE":
        n_units = n / 1024
        n = n_units  # type: ignore[assignment]
        if n_units < 973:
            return f"{n_units:3.1f}{unit}" if n_units < 9.95 else f"{n_units:3.0f}{unit}"
    return "big"


def _when(mtime: float, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(mtime))


def apache_index(rows: list[tuple[str, int, float]], extra: list[str]) -> str:
    """``mod_autoindex`` with FancyIndexing, in a ``<pre>`` (Apache 2.4 without HTMLTable)."""
    lines = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">', "<html>", " <head>",
             "  <title>Index of /ccf</title>", " </head>", " <body>", "<h1>Index of /ccf</h1>",
             '<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>'
             '                    <a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">'
             'Size</a>  <a href="?C=D;O=A">Description</a><hr><img src="/icons/back.gif" '
             'alt="[PARENTDIR]"> <a href="/">Parent Directory</a>                             -   ']
    for name, size, mtime in rows:
        lines.append(f'<img src="/icons/unknown.gif" alt="[   ]"> <a href="{name}">{name}</a>'
                     f'{" " * max(1, 24 - len(name))}{_when(mtime, "%Y-%m-%d %H:%M")}  '
                     f'{apache_size(size):>4}  ')
    lines += extra
    lines += ["<hr></pre>", "<address>Apache/2.4.41 (Ubuntu) Server at 127.0.0.1 Port 80</address>",
              "</body></html>"]
    return "\n".join(lines) + "\n"


def apache_table_index(rows: list[tuple[str, int, float]], extra: list[str]) -> str:
    """``mod_autoindex`` with ``HTMLTable`` (Debian's default configuration)."""
    out = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">', "<html>", " <head>",
           "  <title>Index of /ccf</title>", " </head>", " <body>", "<h1>Index of /ccf</h1>",
           "  <table>",
           '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a '
           'href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a '
           'href="?C=S;O=A">Size</a></th><th><a href="?C=D;O=A">Description</a></th></tr>',
           '   <tr><th colspan="5"><hr></th></tr>',
           '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a '
           'href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td>'
           "<td>&nbsp;</td></tr>"]
    for name, size, mtime in rows:
        out.append(f'<tr><td valign="top"><img src="/icons/unknown.gif" alt="[   ]"></td><td>'
                   f'<a href="{name}">{name}</a></td><td align="right">'
                   f'{_when(mtime, "%Y-%m-%d %H:%M")}  </td><td align="right">'
                   f'{apache_size(size):>4}</td><td>&nbsp;</td></tr>')
    out += extra
    out += ['   <tr><th colspan="5"><hr></th></tr>', "</table>", "</body></html>"]
    return "\n".join(out) + "\n"


def nginx_index(rows: list[tuple[str, int, float]], extra: list[str]) -> str:
    """nginx ``autoindex on`` (exact sizes, GMT dates, names cut at 50 characters)."""
    out = ["<html>", "<head><title>Index of /ccf/</title></head>", "<body>",
           '<h1>Index of /ccf/</h1><hr><pre><a href="../">../</a>']
    for name, size, mtime in rows:
        shown = name if len(name) <= 50 else name[:47] + "..&gt;"
        pad = " " * max(1, 51 - min(len(name), 50))
        out.append(f'<a href="{name}">{shown}</a>{pad}{_when(mtime, "%d-%b-%Y %H:%M")}'
                   f'{size:>20}')
    out += extra
    out += ["</pre><hr></body>", "</html>"]
    return "\n".join(out) + "\n"


@dataclass
class Answer:
    """What :class:`FakeRegistry` sends for one path: a status, headers and a body (``endless``:
    ``body`` repeated until the client goes away, or :data:`ENDLESS_CAP` bytes)."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    endless: bool = False


class FakeRegistry:
    """A loopback HTTP server playing an OCI registry: ``answers[path] = Answer(...)``; any
    other path is 404. ``url`` is ``127.0.0.1:PORT`` (a loopback registry is spoken to in http)."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.paths: list[str] = []
        self._stopping = threading.Event()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                registry._serve(self)

            do_HEAD = do_GET

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    def __enter__(self) -> FakeRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        self.paths.append(h.path)
        a = self.answers.get(h.path.split("?", 1)[0]) or Answer(b"{}", 404)
        h.send_response(a.status)
        for k, v in a.headers.items():
            h.send_header(k, v)
        if a.endless:
            h.send_header("Connection", "close")
            h.end_headers()
            sent = 0
            try:
                while sent < ENDLESS_CAP and not self._stopping.is_set():
                    h.wfile.write(a.body)
                    sent += len(a.body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            h.close_connection = True
            return
        h.send_header("Content-Length", str(len(a.body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(a.body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RsyncDaemon:
    """``rsync --daemon`` on 127.0.0.1 exporting ``root`` as module ``ccf`` (read only)."""

    def __init__(self, root: Path, workdir: Path):
        self.root = root
        self.workdir = workdir
        self.port = free_port()
        self.url = f"rsync://127.0.0.1:{self.port}/ccf/"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> RsyncDaemon:
        from support.components import program

        binary = str(program("rsync"))
        conf = self.workdir / "rsyncd.conf"
        user = "root" if os.geteuid() == 0 else ""
        conf.write_text(
            f"pid file = {self.workdir / 'rsyncd.pid'}\n"
            f"use chroot = false\n" + (f"uid = {user}\ngid = {user}\n" if user else "")
            + f"[ccf]\n    path = {self.root}\n    read only = true\n"
        )
        self.proc = subprocess.Popen(
            [binary, "--daemon", "--no-detach", f"--config={conf}", f"--port={self.port}",
             "--address=127.0.0.1", f"--log-file={self.workdir / 'rsyncd.log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.02)
        self.__exit__()
        raise RuntimeError(f"rsync daemon did not start on port {self.port}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


NAMES = ("EPN_QUANTUMEF", "EMOS1_ADUCONV", "XMM_MISCDATA", "RGS1_EFFAREA", "OM_FILTER",
         "XRT1_XAREAEF", "EMOS2_CTI", "EPN_REDIST", "RGS2_LINCOORD", "XMM_BORESIGHT")


def make_files(root: Path, count: int, *, size: int = 2880 * 3, seed: int = 0) -> list[FetchItem]:
    """``count`` random files named like constituents in ``root``; their pins."""
    rnd = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    items = []
    for i in range(count):
        name = f"{NAMES[i % len(NAMES)]}_{i // len(NAMES) + 1:04d}.CCF"
        data = rnd.randbytes(size if isinstance(size, int) else size[i])
        (root / name).write_bytes(data)
        items.append(FetchItem(name, len(data), hashlib.sha256(data).hexdigest()))
    return items


def write_manifest(path: Path, items: list[FetchItem]) -> Path:
    """A manifest pinning ``items`` (one observation per file, so keys never clash)."""
    from reprocal.core._constituent import Constituent
    from reprocal.core._dates import CalDate
    from reprocal.core._names import ConstituentName
    from reprocal.state._manifest import build, save_manifest

    obs = CalDate.parse("2004-05-09T13:00:16")
    an = CalDate.parse("2018-07-27T17:25:14")
    observations = [
        (f"{n:010d}", obs, an, "XMMCCF",
         [Constituent(ConstituentName.parse(i.filename), valdate="2000-01-01T00:00:00")])
        for n, i in enumerate(items)]
    manifest = build(observations, {i.filename: (i.size, i.sha256) for i in items})
    save_manifest(manifest, path)
    return path
