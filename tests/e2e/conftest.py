"""End-to-end fixtures: a real HTTP server per test and a real Chromium (Playwright).

Every test gets its own server (werkzeug, background thread, free port on
127.0.0.1) serving ``create_app`` with its own fresh database (``database_url``
from tests/conftest.py: SQLite, or PostgreSQL with ``TEST_DB=postgresql``) and
its own upload folder, with CSRF protection ON as in production.

The browser is Debian's Chromium at /usr/bin/chromium (Playwright's own browser
download is not used). Without it the tests are skipped, except in CI (``CI``
set), where a missing browser fails the run.

On a failed test, a screenshot (and the HTML) of each page still open is kept in
test-artifacts/; ``<test>.png`` is the page that navigated last.
"""
from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app.extensions import db
from tests.conftest import TEMPLATE_CACHE, _app_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # no calls to the internet (there is none in CI, and it would slow every launch)
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ACTION_TIMEOUT_MS = 10_000

_reports = pytest.StashKey[dict]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end journey through a real Chromium against a live server"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can see whether the test failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


def _unavailable(reason: str):
    """Skip on a developer machine; in CI a missing browser must fail the run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the end-to-end tests must run, not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed: .venv/bin/python -m pip install -r requirements-test.txt")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(
            f"end-to-end tests need Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _RequestLog(WSGIRequestHandler):
    """The server's request log without the many static files (shown for failed tests)."""

    def log_request(self, code="-", size="-"):
        if not self.path.startswith("/static/"):
            super().log_request(code, size)


class LiveServer:
    """The app behind a real HTTP server in a background thread."""

    def __init__(self, app):
        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_RequestLog)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="e2e-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def live_server(tmp_path, database_url, browser):
    """A fresh app, database and upload folder behind a real server; CSRF is on.

    Create data with tests/factories.py inside ``with live_server.app.app_context():``.
    """
    config = _app_config(tmp_path, database_url)
    config.update(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)
    app = create_app(config)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    server = LiveServer(app)
    yield server
    server.stop()


def _artifact_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("::", 1)[-1]).strip("_")[:150]


@pytest.fixture
def open_page(request, browser, live_server):
    """``open_page(name, locale="de-DE")``: a page in a browser context of its own.

    One context per person (own cookies), with the live server as base URL and
    ``locale`` as the browser's language (Accept-Language).
    """
    pages: dict[str, object] = {}
    navigated: dict[str, float] = {}
    stem = _artifact_name(request.node.nodeid)
    if ARTIFACTS.is_dir():
        for old in [*ARTIFACTS.glob(f"{stem}.png"), *ARTIFACTS.glob(f"{stem}--*")]:
            old.unlink()

    def _open(name: str, locale: str = "de-DE"):
        assert name not in pages, f"page {name!r} is already open"
        context = browser.new_context(base_url=live_server.url, locale=locale, accept_downloads=True)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()

        def _on_navigation(frame):
            if frame == page.main_frame:
                navigated[name] = time.monotonic()

        page.on("framenavigated", _on_navigation)
        pages[name] = page
        return page

    yield _open

    reports = request.node.stash.get(_reports, {})
    if any(r.failed for r in reports.values()):
        ARTIFACTS.mkdir(exist_ok=True)
        last = max(navigated, key=navigated.get) if navigated else None
        for name, page in pages.items():
            try:
                page.screenshot(path=str(ARTIFACTS / f"{stem}--{name}.png"), full_page=True)
                (ARTIFACTS / f"{stem}--{name}.html").write_text(
                    f"<!-- {page.url} -->\n{page.content()}", encoding="utf-8"
                )
                if name == last:
                    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            except Exception as exc:  # a crashed page must not hide the test's own failure
                print(f"e2e: no screenshot of page {name!r}: {exc}")
    for page in pages.values():
        page.context.close()
