"""Push an image tar to an OCI registry and pull one back (distribution API v2, ``requests``).

Push: for each blob, ``HEAD`` to skip what the registry has, else ``POST`` an upload and ``PUT``
it with its digest (monolithic, streamed from the tar); then ``PUT`` the manifest *exactly as
stored in the tar*. The digest the registry reports (``Docker-Content-Digest``) must equal the
manifest digest reprocal computed, otherwise the push is an error.

Pull: the manifest by tag or digest, then the config and layers streamed straight into a new
image tar (:func:`reprocal.image._oci.write_image_tar`, each blob checked against its digest).

``http://`` is used for loopback registries (``127.0.0.1``, ``localhost``, ``[::1]``), https
otherwise. Authentication: the registry's ``401`` challenge is answered, ``Bearer`` (a token
from the named realm, anonymous or with credentials) or ``Basic``, with the credentials Docker
users already have (:mod:`reprocal.image._credentials`: ``~/.docker/config.json``, credential
helpers, or ``REPROCAL_REGISTRY_USER``/``_PASSWORD``). A 5xx answer or a dropped connection is
retried (:data:`RETRIES` times, backoff doubling from :data:`BACKOFF` s), an upload's body
rewound to its first byte, since uploads stream from the tar.

Every answer is bounded: JSON answers (manifests, indexes, configs, tokens) are read up to the
``document-size`` limit and parsed by :mod:`reprocal.image._ocidoc` (a registry answering HTML
or a manifest with a field of the wrong type is one line naming the URL and field); a blob is
cut as soon as it passes its descriptor's size; connections use the ``connect-timeout`` and
``read-timeout`` limits.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from reprocal.errors import HashMismatchError, InputError, NetworkError, ReprocalError
from reprocal.fs._limits import current_limits
from reprocal.image._archive import ImageTar, Member, _Range, read_image_tar
from reprocal.image._credentials import WHERE, registry_credentials
from reprocal.image._oci import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    MEDIA_INDEX,
    MEDIA_MANIFEST,
    Blob,
    check_output,
    image_docs,
    sha256_digest,
    write_image_tar,
)
from reprocal.image._ocidoc import descriptor, document, manifest_parts, objects, platform_of
from reprocal.image._tarstream import CHUNK

ACCEPT = ", ".join((MEDIA_MANIFEST, DOCKER_MANIFEST, MEDIA_INDEX, DOCKER_LIST))
LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
                      r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")


def _timeout() -> tuple[float, float]:
    lim = current_limits()
    return (lim.connect_timeout, lim.read_timeout)
_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z")
_TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")


@attrs.frozen
class Reference:
    """``REGISTRY/NAME[:TAG|@sha256:...]``, parsed."""

    registry: str
    """``host[:port]``."""
    repository: str
    """e.g. ``reprocal/ccf``."""
    tag: str | None
    """The tag, or ``None`` when pulled by digest."""
    digest: str | None = None
    """``sha256:<hex>`` when the reference pins a digest."""

    @classmethod
    def parse(cls, ref: str) -> Reference:
        if not isinstance(ref, str) or len(ref) > 1024 or any(
                ord(c) < 33 or ord(c) == 127 for c in ref):
            raise InputError(f"image reference {str(ref)[:80]!r} is not REGISTRY/NAME:TAG "
                             "(no spaces or control characters, at most 1024 characters)")
        first, sep, rest = ref.partition("/")
        if not sep or not ("." in first or ":" in first or first == "localhost"):
            raise InputError(f"image reference {ref!r} names no registry",
                             hint="write REGISTRY/NAME:TAG, e.g. 127.0.0.1:5000/reprocal/ccf:v1")
        if not _HOST_RE.match(first):
            raise InputError(f"image reference {ref!r}: bad registry host {first!r}")
        digest = None
        if "@" in rest:
            rest, digest = rest.split("@", 1)
            if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
                raise InputError(f"image reference {ref!r}: bad digest {digest!r}")
        tag = None
        if ":" in rest:
            rest, tag = rest.rsplit(":", 1)
            if not _TAG_RE.match(tag):
                raise InputError(f"image reference {ref!r}: bad tag {tag!r}")
        if not _REPO_RE.match(rest):
            raise InputError(f"image reference {ref!r}: bad repository name {rest!r} "
                             "(lower-case letters, digits, '.', '_', '-', '/')")
        if tag is None and digest is None:
            tag = "latest"
        return cls(first, rest, tag, digest)

    @property
    def base_url(self) -> str:
        host = self.registry.rsplit(":", 1)[0] if not self.registry.startswith("[") else \
            self.registry.split("]")[0] + "]"
        scheme = "http" if host in LOOPBACK else "https"
        return f"{scheme}://{self.registry}/v2/{self.repository}"

    def __str__(self) -> str:
        out = f"{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


@attrs.frozen
class PushResult:
    """What a push did."""

    reference: str
    """Where it went."""
    digest: str
    """The manifest digest (computed, and confirmed by the registry)."""
    uploaded: tuple[str, ...]
    """Blob digests sent."""
    skipped: tuple[str, ...]
    """Blob digests the registry already had."""


@attrs.frozen
class PullResult:
    """What a pull wrote."""

    reference: str
    path: Path
    digest: str
    """The manifest digest."""
    tar_sha256: str


class _Body:
    """A sized, readable body streamed from the image tar (so requests sends Content-Length)."""

    def __init__(self, img: ImageTar, member: Member):
        self._r = _Range(img.path, member)
        self._len = member.size

    def __len__(self) -> int:
        return self._len

    def read(self, n: int = -1) -> bytes:
        return self._r.read(n)

    def rewind(self) -> None:
        """Back to the first byte (before a retried upload)."""
        self._r.seek(0)

    def close(self) -> None:
        self._r.close()


def _session(session: Any) -> Any:
    if session is not None:
        return session
    import requests

    return requests.Session()


_CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
RETRIES = 3
"""Further attempts after a 5xx answer or a dropped connection (the body rewound each time)."""
BACKOFF = 0.5
"""Seconds before the first retry, doubled for each next one."""
RETRY_STATUS = frozenset({500, 502, 503, 504})


def _authenticate(s: Any, challenge: str, what: str, registry: str | None) -> bool:
    """Answer a ``WWW-Authenticate`` challenge by setting the session's Authorization header,
    with the registry's credentials (:mod:`reprocal.image._credentials`) when there are any."""
    import base64

    scheme, _, params = challenge.partition(" ")
    creds = registry_credentials(registry) if registry else None
    if scheme.lower() == "basic":
        if creds is None:
            return False
        token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        s.headers["Authorization"] = f"Basic {token}"
        return True
    if scheme.lower() != "bearer":
        return False
    fields = dict(_CHALLENGE_RE.findall(params))
    if "realm" not in fields:
        return False
    query = {k: v for k, v in fields.items() if k in ("service", "scope")}
    r = _call(s, "GET", fields["realm"], (200,), f"{what}: token", retry_auth=False,
              params=query, auth=creds)
    try:
        doc = r.json()
        token = doc.get("token") or doc["access_token"]
        if not isinstance(token, str):
            raise TypeError
    except (ValueError, KeyError, AttributeError, TypeError):
        raise NetworkError(f"{what}: the token service {fields['realm']} answered no token"
                           ) from None
    s.headers["Authorization"] = f"Bearer {token}"
    return True


def _send(s: Any, method: str, url: str, what: str, kw: dict[str, Any]) -> Any:
    """One request, retried on 5xx and dropped connections with backoff; an upload body is
    rewound to its start before each attempt."""
    import requests

    body = kw.get("data")
    for attempt in range(RETRIES + 1):
        if isinstance(body, _Body):
            body.rewind()
        try:
            r = s.request(method, url, timeout=_timeout(), **kw)
        except requests.ConnectionError as exc:
            if attempt == RETRIES:
                raise NetworkError(f"{what}: {method} {url} failed: {exc}") from None
        except requests.RequestException as exc:
            raise NetworkError(f"{what}: {method} {url} failed: {exc}") from None
        else:
            if r.status_code not in RETRY_STATUS or attempt == RETRIES:
                return r
        time.sleep(BACKOFF * 2 ** attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _call(s: Any, method: str, url: str, ok: tuple[int, ...], what: str, *,
          retry_auth: bool = True, registry: str | None = None, **kw: Any) -> Any:
    r = _send(s, method, url, what, kw)
    if (r.status_code == 401 and retry_auth
            and _authenticate(s, r.headers.get("WWW-Authenticate", ""), what, registry)):
        r = _send(s, method, url, what, kw)
    if r.status_code not in ok:
        detail = r.text[:200].strip() if r.text else ""
        hint = (f"the registry refused the credentials, or needs some: {WHERE}"
                if r.status_code in (401, 403) else None)
        raise NetworkError(f"{what}: {method} {url} answered {r.status_code} {detail}", hint=hint)
    return r


def push_image(tar: str | os.PathLike[str], ref: str, *, session: Any = None) -> PushResult:
    """Push the image tar to ``ref`` and check the registry's digest equals ours."""
    reference = Reference.parse(ref)
    if reference.tag is None:
        raise InputError(f"push needs a tag, not a digest: {ref}")
    img = read_image_tar(tar)
    if img.manifest_bytes is None:
        raise InputError("the tar has no OCI manifest (a legacy docker save)", path=img.path,
                         hint="rebuild it with `reprocal image build`, or re-save with Docker 25+")
    s = _session(session)
    call = functools.partial(_call, s, registry=reference.registry)
    base = reference.base_url
    uploaded, skipped = [], []
    blobs = [(d.digest, p) for d, p in zip(img.layers, img.layer_paths, strict=True)]
    blobs.append((img.config_digest, img.config_path))
    for digest, member in blobs:
        head = call("HEAD", f"{base}/blobs/{digest}", (200, 404), "blob check")
        if head.status_code == 200:
            skipped.append(digest)
            continue
        start = call("POST", f"{base}/blobs/uploads/", (202,), "blob upload")
        location = start.headers.get("Location", "")
        if location.startswith("/"):
            location = base.split("/v2/", 1)[0] + location
        body = _Body(img, img.members[member])
        try:
            call("PUT", location + ("&" if "?" in location else "?") + f"digest={digest}",
                  (201, 204), f"blob {digest[:19]}", data=body,
                  headers={"Content-Type": "application/octet-stream"})
        finally:
            body.close()
        uploaded.append(digest)
    media = (img.manifest or {}).get("mediaType") or MEDIA_MANIFEST
    put = call("PUT", f"{base}/manifests/{reference.tag}", (201, 200), "manifest",
                data=img.manifest_bytes, headers={"Content-Type": media})
    ours = sha256_digest(img.manifest_bytes)
    theirs = put.headers.get("Docker-Content-Digest")
    if theirs != ours:
        raise HashMismatchError(str(reference), what="registry manifest digest", expected=ours,
                                actual=str(theirs))
    return PushResult(str(reference), ours, tuple(uploaded), tuple(skipped))


def _body(call: Any, url: str, what: str, **kw: Any) -> tuple[Any, bytes]:
    """``GET url``: the response and its body, read within the ``document-size`` limit."""
    import requests

    limit = current_limits().document_size
    r = call("GET", url, (200,), what, stream=True, **kw)
    with r:
        chunks, got = [], 0
        try:
            for chunk in r.iter_content(CHUNK):
                got += len(chunk)
                if got > limit:
                    raise NetworkError(f"{what}: GET {url} answered more than the "
                                       f"document-size limit of {limit} bytes")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise NetworkError(f"{what}: GET {url} failed: {exc}") from None
    return r, b"".join(chunks)


def _answer(call: Any, url: str, what: str, **kw: Any) -> tuple[Any, bytes, dict[str, Any]]:
    """A JSON answer: the response, its bytes and the object they hold; an answer that is not a
    JSON object (an HTML error page, a proxy's message) is a :class:`NetworkError` naming the
    URL."""
    r, body = _body(call, url, what, **kw)
    try:
        return r, body, document(body, url, what)
    except ReprocalError as exc:
        raise NetworkError(f"{what}: the registry's answer is not a usable JSON document "
                           f"({exc.message})", path=url) from None


def _blob_chunks(call: Any, url: str, size: int | None = None) -> Iterator[bytes]:
    """A blob's bytes as they arrive, cut as soon as they pass the descriptor's ``size``."""
    r = call("GET", url, (200,), "blob", stream=True)
    with r:
        got = 0
        for chunk in r.iter_content(CHUNK):
            got += len(chunk)
            if size is not None and got > size:
                raise NetworkError(f"blob: GET {url} sent more than the {size} bytes its "
                                   "descriptor says")
            yield chunk


def pull_image(ref: str, out: str | os.PathLike[str], *, session: Any = None) -> PullResult:
    """Pull ``ref`` into an image tar at ``out`` (manifest kept byte for byte)."""
    reference = Reference.parse(ref)
    check_output(out)
    s = _session(session)
    call = functools.partial(_call, s, registry=reference.registry)
    base = reference.base_url
    url = f"{base}/manifests/{reference.digest or reference.tag}"
    r, body, doc = _answer(call, url, "manifest", headers={"Accept": ACCEPT})
    if doc.get("mediaType") in (MEDIA_INDEX, DOCKER_LIST):
        pick = next((m for m in objects(doc, "manifests", "$", url, required=False)
                     if platform_of(m)[1] in ("amd64", None)), None)
        if pick is None:
            raise InputError(f"{ref}: the index lists no linux/amd64 image")
        expected = descriptor(pick, "$.manifests[]", url).digest
        url = f"{base}/manifests/{expected}"
        r, body, doc = _answer(call, url, "manifest", headers={"Accept": ACCEPT})
        if doc.get("mediaType") in (MEDIA_INDEX, DOCKER_LIST):
            raise NetworkError("manifest: an index inside an index is not followed", path=url)
    else:
        expected = reference.digest or r.headers.get("Docker-Content-Digest") or sha256_digest(body)
    got = sha256_digest(body)
    if got != expected:
        raise HashMismatchError(str(reference), what="manifest digest", expected=expected,
                                actual=got)
    try:
        cd, layer_descs = manifest_parts(doc, url)
    except ReprocalError as exc:
        raise NetworkError(f"manifest: {exc.message}", path=url) from None
    _, config = _body(call, f"{base}/blobs/{cd.digest}", "config")
    if sha256_digest(config) != cd.digest:
        raise HashMismatchError(str(reference), what="config digest", expected=cd.digest,
                                actual=sha256_digest(config))
    layers = list(layer_descs)
    blobs = [Blob(d.digest, d.size,
                  functools.partial(_blob_chunks, call, f"{base}/blobs/{d.digest}", d.size))
             for d in layers]
    name = f"{reference.registry}/{reference.repository}:{reference.tag or 'latest'}"
    docs = image_docs(config, layers, name=name, manifest_bytes=body,
                      manifest_media_type=doc.get("mediaType") or MEDIA_MANIFEST)
    epoch = _created_epoch(config)
    tar_sha = write_image_tar(out, blobs, docs, mtime=epoch)
    return PullResult(str(reference), Path(out), got, tar_sha)


def _created_epoch(config: bytes) -> int:
    """The tar mtime of a pulled image: its config's ``created`` (0 when absent)."""
    from datetime import datetime

    try:
        created = str(document(config, "image config").get("created") or "")
    except ReprocalError:
        return 0
    try:
        return int(datetime.fromisoformat(created[:19] + "+00:00").timestamp())
    except ValueError:
        return 0
