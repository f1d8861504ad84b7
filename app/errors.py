"""Friendly error pages (413 for too large uploads, 404, 403)."""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _


def _page(code: int, title: str, text: str):
    appbuilder = current_app.appbuilder
    return render_template(
        "error.html", code=code, title=title, text=text, appbuilder=appbuilder,
        base_template=appbuilder.base_template,
    ), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(413)
    def too_large(_error):
        mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        return _page(413, _("Files too large"),
                     _("The files you sent are larger than %(mb)d MB together. Nothing was saved: "
                       "please go back and send fewer or smaller files.", mb=mb))

    @app.errorhandler(404)
    def not_found(_error):
        if request.path.startswith("/api/"):
            return {"message": "Not found"}, 404
        return _page(404, _("Not found"), _("This page does not exist, or you have no access to it."))
