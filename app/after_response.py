"""Work a request leaves for after its response has gone out (a data export's ZIP, webhook deliveries).

``after_response(work)`` registers a callable; it runs once the response's body has been handed to
the server, in an app context of its own, exactly once, and an exception in it is logged, never
passed to the server. ``MAIL_DELIVERY=worker`` installations leave such work to ``flask portal
worker`` instead; the callers decide that.

Why not only ``response.call_on_close``: werkzeug's server (``flask run``, ``python run.py``, the
browser tests) drains the socket before it calls the response's ``close()``, and when the client has
already reset the connection — as Chromium does when it follows a redirect without reading its body
— that drain raises, the server counts the connection as dropped and ``close()`` never runs: the work
was lost without a word. So a body with a Content-Length runs the work as soon as its last byte has
been handed over (the client has the whole response then; nothing follows on the connection). A
body without one (a stream sent in chunks) still runs it at ``close()``: the server writes the last
chunk only after the iteration, and the client must not wait for the work.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Iterator

from flask import Flask, current_app, request

from app.extensions import db

log = logging.getLogger(__name__)
_KEY = "portal.after_response"


def after_response(work: Callable[[], object]) -> None:
    """Run ``work()`` once this request's response has gone out, in an app context of its own."""
    pending = request.environ.get(_KEY)
    if pending is None:
        raise RuntimeError("install_after_response(app) is missing: the work would never run")
    flask_app = current_app._get_current_object()

    def run() -> None:
        with flask_app.app_context():
            try:
                work()
            except Exception:  # noqa: BLE001 - the response is out; the log is the only place left
                log.exception("work after the response failed: %s", getattr(work, "__qualname__", work))
            finally:
                db.session.remove()

    pending.append(run)


class _Body:
    """The app's body, then the registered work: at the end of the body or at ``close()``, once."""

    def __init__(self, body: Iterable[bytes], work: list[Callable[[], None]], at_end: bool):
        self._body, self._work, self._at_end = body, work, at_end

    def __iter__(self) -> Iterator[bytes]:
        yield from self._body
        if self._at_end:
            self._run()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._run()

    def _run(self) -> None:
        work, self._work = self._work, []
        for run in work:
            run()


class _AfterResponse:
    """WSGI middleware: hands each request a list for its work; wraps only a body that has work."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        work: list[Callable[[], None]] = []
        environ[_KEY] = work
        sized = False

        def start(status, headers, exc_info=None):
            nonlocal sized
            sized = any(name.lower() == "content-length" for name, _value in headers)
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        if not work:
            return body
        return _Body(body, work, at_end=sized)


def install_after_response(app: Flask) -> None:
    app.wsgi_app = _AfterResponse(app.wsgi_app)
