"""Security headers on every response, with a per-request nonce for inline scripts."""
from __future__ import annotations

import secrets

from flask import Flask, abort, g, request


def _nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def install_security_headers(app: Flask) -> None:
    # FAB's templates put {{ csp_nonce() }} on their inline scripts when it is defined.
    app.jinja_env.globals["csp_nonce"] = _nonce

    @app.before_request
    def _no_deleting_by_get():
        """FAB's /delete/<pk> deletes on GET; only POST (with a CSRF token) may."""
        if request.method == "GET" and (request.endpoint or "").endswith(".delete"):
            abort(405)

    @app.after_request
    def _headers(response):
        csp = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{_nonce()}'; "
            "style-src 'self' 'unsafe-inline'; "  # FAB's and our templates use style attributes
            "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
