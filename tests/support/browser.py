"""Rendering reprocal's HTML pages in a real browser: Debian's headless Chromium, driven by
Playwright (its Python package; never a browser it downloads).

:func:`open_browser` skips the test, with the reason, where ``chromium`` (a component:
tests/components.txt, found on ``PATH``) or the ``playwright`` package is missing, or fails it
when ``$REPROCAL_TEST_REQUIRE_BROWSER`` is set (CI sets it). :func:`render` loads one page from
its file and returns what a person would meet: console messages and page errors, every request
the page made (a self-contained page makes none but itself), dialogs (a hostile value that ran
would open one), and a full-page screenshot, checked to show something and kept as a test
artefact: copied into ``$REPROCAL_TEST_ARTEFACTS`` when set (CI sets it), its path printed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support.components import locate, missing_reason

ARTEFACTS = "REPROCAL_TEST_ARTEFACTS"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
"""What this machine's Chromium needs: no sandbox as root, no GPU, and none of its own
background connections (the network is closed: they would fail, many at a time)."""


@dataclass
class Rendered:
    page: Any
    """The Playwright page, still open (query its DOM)."""
    screenshot: Path
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console if kind in ("error", "warning")]


REQUIRE = "REPROCAL_TEST_REQUIRE_BROWSER"
"""Set (CI sets it): a missing browser fails the test instead of skipping it."""


def _absent(reason: str) -> None:
    if os.environ.get(REQUIRE):
        pytest.fail(f"${REQUIRE} is set, but {reason}", pytrace=False)
    pytest.skip(reason)


@contextmanager
def open_browser(tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (own empty profile) for one test; skips when unavailable."""
    found = locate("chromium")
    if found is None:
        _absent(missing_reason("chromium"))
    chromium = Path(str(found))
    try:
        from playwright import sync_api as sync
    except ImportError:
        _absent("the playwright package is not installed (the test extra)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    with sync.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def render(context: Any, page_file: Path, screenshot: Path) -> Rendered:
    """Load ``page_file`` and take a full-page screenshot to ``screenshot``."""
    page = context.new_page()
    out = Rendered(page, screenshot)
    page.on("console", lambda m: out.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: out.errors.append(str(e)))
    page.on("request", lambda r: out.requests.append(r.url))
    page.on("dialog", lambda d: (out.dialogs.append(d.message), d.dismiss()))
    page.goto(page_file.resolve().as_uri(), wait_until="load")
    page.wait_for_timeout(200)
    page.screenshot(path=str(screenshot), full_page=True)
    assert_shows_something(screenshot)
    kept = os.environ.get(ARTEFACTS)
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        screenshot = Path(shutil.copy2(screenshot, Path(kept) / screenshot.name))
    print(f"\nscreenshot of {page_file.name}: {screenshot}")
    return out


def assert_shows_something(png: Path) -> None:
    """The screenshot is a page with content: tall, mostly background, yet with many pixels of
    ink (text) and of colour (the figures' bars), not a blank or error page."""
    import numpy as np
    from PIL import Image

    with Image.open(png) as im:
        rgb = im.convert("RGB")
        w, h = rgb.size
        assert w >= 1000 and h >= 900, f"{png}: {w}x{h}"
        a = np.asarray(rgb, dtype=np.int16)
    ink = int((a.sum(axis=2) < 300).sum())
    colour = int((a.max(axis=2) - a.min(axis=2) > 80).sum())
    white = int((a.min(axis=2) > 240).sum())
    n = a.shape[0] * a.shape[1]
    assert white > n // 2, f"{png}: not a page on a light background"
    assert ink > n // 500, f"{png}: almost no text ({ink} dark pixels of {n})"
    assert colour > n // 500, f"{png}: no figure colours ({colour} of {n})"
