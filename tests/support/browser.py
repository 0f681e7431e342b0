"""A real browser for the dashboard's tests: Debian's Chromium driven by Playwright, and axe-core.

Playwright's own browser download (`playwright install`) is never used: it fetches a build
from another host. Chromium comes from `apt-get install chromium` (`make chromium`, a step of
`make test`); axe-core from tools/ (`make tools`). Where either is missing the tests skip,
saying why, except under CI, where they fail.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.support.tools import REPO, missing

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing of its own on the network: no component updates, sync, field trials.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
AXE = REPO / "tools" / "node_modules" / "axe-core" / "axe.min.js"


def chromium() -> Path:
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        missing(f"{CHROMIUM} is not installed (make chromium: apt-get install chromium)")
    return CHROMIUM


def axe_source() -> str:
    if not AXE.exists():
        missing(f"{AXE.relative_to(REPO)} is not installed (run make tools)")
    return AXE.read_text(encoding="utf-8")


@contextmanager
def launched() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watch:
    """What a context's pages did that a test must see: console errors, uncaught exceptions,
    and requests for any other origin than the emulator's (refused before they leave).

    A page answered with an error status (a 404 page, a refused form's 400) makes Chromium log
    "Failed to load resource" for the document itself: that is the status, not a fault of the
    page, and is not counted; the same line for anything the page loads is."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    error_pages: set[str] = field(default_factory=set)

    def attach(self, context: BrowserContext) -> None:
        context.route("**/*", self._route)
        context.on("page", self._page)

    def _page(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and response.request.is_navigation_request():
            self.error_pages.add(response.url)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status_only = message.text.startswith("Failed to load resource: the server responded")
        if status_only and message.location.get("url") in self.error_pages:
            return
        self.errors.append(f"console: {message.text} ({message.location})")

    def _route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        self.requests.append(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin or parts.scheme == "data":
            with contextlib.suppress(PlaywrightError):  # the page went away meanwhile
                route.continue_()
            return
        self.foreign.append(url)
        route.abort()

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.foreign == []
        hosts = {urlsplit(url).hostname for url in self.requests if not url.startswith("data:")}
        assert hosts <= {"127.0.0.1"}, hosts


def axe_violations(page: Page, source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now, of every impact (the bar is no serious
    or critical one; the pages have none at all, and a moderate one fails too). The script
    goes in through the DevTools protocol (page.evaluate), which the page's CSP does not
    govern."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    results: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
    ]
