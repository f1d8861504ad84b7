"""Friendly error pages (413 for too large uploads, 429 for rate limits, 404, 403)."""
from __future__ import annotations

from flask import Flask, abort, current_app, g, render_template, request
from flask_babel import gettext as _


def _page(code: int, title: str, text: str):
    appbuilder = current_app.appbuilder
    if "user" not in g:  # refused before FAB's own before_request ran (e.g. a CSRF error)
        from flask_login import current_user

        g.user = current_user._get_current_object()
    return render_template(
        "error.html", code=code, title=title, text=text, appbuilder=appbuilder,
        base_template=appbuilder.base_template,
    ), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(413)
    def too_large(_error):
        mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        if request.path.startswith("/api/"):
            return {"message": f"The request is larger than {mb} MB."}, 413
        return _page(413, _("Files too large"),
                     _("The files you sent are larger than %(mb)d MB together. Nothing was saved: "
                       "please go back and send fewer or smaller files.", mb=mb))

    @app.errorhandler(403)
    def forbidden(_error):
        if request.path.startswith("/api/"):
            return {"message": "Forbidden"}, 403
        return _page(403, _("No access"), _("You have no access to this page. If you think you should have, "
                                            "please ask your company's administrator or our service team."))

    @app.errorhandler(400)
    def bad_request(error):
        if request.path.startswith("/api/"):
            return {"message": "Bad request"}, 400
        return _page(400, _("Bad request"), _("The request could not be understood. Please go back and try again."))

    @app.errorhandler(429)
    def too_many_requests(_error):
        """Rate limits (Flask-Limiter): the login, the registration and the public order form."""
        if request.path.startswith("/api/"):
            return {"message": "Too many requests"}, 429
        return _page(429, _("Too many attempts"),
                     _("This was sent too often in a short time. Please wait a few minutes and try again."))

    @app.before_request
    def _too_large():
        """Refuse a too large body before any view reads it: FAB's API views catch every
        error while reading, and the 413 became a 500 there."""
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        if limit and (request.content_length or 0) > limit:
            abort(413)

    @app.before_request
    def _no_nul_bytes():
        """Text with NUL bytes is never meaningful here, and PostgreSQL cannot take it."""
        if any("\x00" in value for values in request.args.listvalues() for value in values):
            abort(400)
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
            if any("\x00" in value for values in request.form.listvalues() for value in values):
                abort(400)

    @app.errorhandler(405)
    def method_not_allowed(error):
        if request.path.startswith("/api/"):
            return {"message": "Method not allowed"}, 405, {"Allow": ", ".join(error.valid_methods or [])}
        return error

    @app.errorhandler(404)
    def not_found(error):
        from app.services.files import AttachmentMissing

        if isinstance(error, AttachmentMissing) and not request.path.startswith("/api/"):
            # a row whose file the storage does not have (the API answers it in app/api/orders.py)
            return _page(404, _("File not available"),
                         _("The file “%(name)s” cannot be found in our file storage. The order itself is not "
                           "affected; please tell our service team.", name=error.original_name))
        if request.path.startswith("/api/"):
            return {"message": "Not found"}, 404
        return _page(404, _("Not found"), _("This page does not exist, or you have no access to it."))


def refuse_unknown_fab_actions(app: Flask) -> None:
    """Close two FAB 5.3 generic routes.

    FAB 5.3's ``/action/<name>/<pk>`` and ``/action_post`` look the action up
    before checking permissions and answer an unknown name with a 500 (for any
    logged-in user). Answer 404 instead. Can go when FAB checks the name itself.
    """
    from flask_appbuilder.baseviews import BaseCRUDView

    views = {type(v).__name__: v for v in app.appbuilder.baseviews}
    # FAB's generic /download/<filename> serves any file of UPLOAD_FOLDER, unscoped,
    # and answers a missing one with a 500. The app never uses it.
    fab_downloads = {f"{name}.download" for name, v in views.items() if isinstance(v, BaseCRUDView)}

    @app.before_request
    def _unknown_action():
        endpoint = request.endpoint or ""
        if endpoint in fab_downloads:
            abort(404)
        if not endpoint.endswith((".action", ".action_post")):
            return None
        view = views.get(endpoint.rsplit(".", 1)[0])
        if endpoint.endswith(".action"):
            name = (request.view_args or {}).get("name")
        else:
            name = request.form.get("action")
        if view is None or name not in getattr(view, "actions", {}):
            abort(404)
        return None


MAX_ID = 2**31 - 1


def valid_id(value) -> int | None:
    """An id a database column can hold, or None (``"abc"``, ``-1``, ``10**30``)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def refuse_impossible_ids(app: Flask) -> None:
    """Every primary key here is an integer: an id no row can have is a 404, not a
    database error (PostgreSQL refuses out-of-range integers; FAB routes take strings)."""

    @app.before_request
    def _ids():
        for name, value in (request.view_args or {}).items():
            if name in ("pk", "file_id") and valid_id(value) is None:
                abort(404)
        # FAB reads page numbers and sizes with int(): anything else was a 500
        for name, value in request.args.items():
            if name.startswith(("psize_", "page_")) and not value.isdigit():
                abort(400)
