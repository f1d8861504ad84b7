"""What a load balancer and an operator need of each app server: ``/healthz`` (the process
answers), ``/readyz`` (the parts it depends on answer) and a request id on every request and log
line, so one request can be followed across servers and logs."""
from __future__ import annotations

import contextvars
import gc
import logging
import re
import time
import uuid

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from app.extensions import db

log = logging.getLogger(__name__)

HEADER = "X-Request-ID"
# an id sent by the load balancer is kept when it is short and plain; otherwise a new one
_GIVEN_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

health = Blueprint("health", __name__)


def freeze_startup_objects() -> int:
    """Move everything a process built at startup (the app, FAB's views, SQLAlchemy's mappers: about
    200,000 objects) out of the garbage collector's sight; returns how many.

    Python's full collection walks every tracked object: with the app loaded, one took about 100 ms,
    once every 30-odd requests (3-4 ms per request on average, all of it in the unlucky request).
    Objects made after startup are collected as before. Called once a process has built the app: by
    gunicorn's ``post_worker_init`` (gunicorn.conf.py), the worker command, the benchmark.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class RequestIdMiddleware:
    """Takes the request id from ``X-Request-ID`` (as a load balancer sets it) or makes one, keeps
    it for the logs of this request and sends it back in the response's ``X-Request-ID``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_X_REQUEST_ID", "")
        rid = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        environ["HTTP_X_REQUEST_ID"] = rid
        token = request_id.set(rid)

        def start(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()] + [(HEADER, rid)]
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, start)
        finally:
            request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """For log handlers whose format names ``%(request_id)s`` (gunicorn.conf.py): records made
    outside a request, or before the app was built, get "-"."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


def _record_factory(previous):
    def make(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    make.portal_request_id = True
    return make


def install_request_ids(app: Flask) -> None:
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "portal_request_id", False):  # once per process, however many apps
        logging.setLogRecordFactory(_record_factory(factory))


@health.get("/healthz")
def healthz():
    """The process answers (no dependency checked: a load balancer restarts what fails this)."""
    response = jsonify(status="ok")
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _check_storage() -> None:
    from app.services.storage import get_storage

    get_storage().check()  # the local folder writable, or the bucket reachable (head_bucket)


def _check_limits() -> None:
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    if uri.startswith("memory://"):
        return
    limiter = current_app.appbuilder.sm.limiter
    if not limiter.storage.check():
        raise ConnectionError("limit storage does not answer")


CHECKS = {"database": _check_database, "storage": _check_storage, "limits": _check_limits}


@health.get("/readyz")
def readyz():
    """Each part this server needs — the database, file storage, the limit storage (Redis) —
    answered now: 200, else 503 naming the part (never its address or error text)."""
    results, ok = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - any failure makes the server not ready
            ok = False
            results[name] = "failed"
            log.warning("readiness: %s failed: %s: %s", name, type(exc).__name__, exc)
        else:
            results[name] = "ok"
        results[f"{name}_ms"] = round((time.perf_counter() - started) * 1000, 1)
    response = jsonify(status="ok" if ok else "failed", checks=results)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
