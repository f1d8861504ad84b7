"""Sending a new order with articles and files: shared by the portal and the public order form."""
from __future__ import annotations

from typing import Callable, Optional

from flask import flash, request
from flask_babel import gettext as _

from app.extensions import db
from app.models import Order
from app.services import files, notify

ARTICLE_FIELDS = ("article_number", "description", "serial_number", "quantity", "fault_description")


def add_article_row(form) -> bool:
    """"Add article" without JavaScript sends the form: one more row, nothing saved.

    Returns whether this request was such a click.
    """
    if request.method != "POST" or "add_article" not in request.form:
        return False
    form.items.append_entry()
    if any(f.filename for f in request.files.values()):
        # the page reloads, and browsers never keep chosen files
        flash(_("Please choose the files again."), "info")
    return True


def article_rows(form) -> list[dict]:
    """The articles of the form as column values (empty optional numbers become NULL)."""
    items = [{name: entry.form[name].data for name in ARTICLE_FIELDS} for entry in form.items]
    for item in items:
        for name in ("article_number", "serial_number"):
            item[name] = (item[name] or "").strip() or None
    return items


def save_order_with_files(form, create_order: Callable[[list[dict]], Order], user=None) -> Optional[Order]:
    """Files and rows together, or nothing: no order without its files, no orphan files.

    ``create_order(articles)`` adds the order (flushed, not committed). Staff hear of it.
    Returns None when a file was refused; the message is then at its field.
    """
    stored: list[files.StoredFile] = []
    per_item: list[list[files.StoredFile]] = []
    field = None
    try:
        for entry in form.items:
            field = entry.form.files
            chunk = [files.store(f) for f in files.real_files(field.data)]
            stored.extend(chunk)
            per_item.append(chunk)
        field = form.files
        order_files = [files.store(f) for f in files.real_files(form.files.data)]
        stored.extend(order_files)
    except files.UploadRefused as refused:
        files.discard(stored)
        field.errors = list(field.errors) + [refused.message]
        return None
    except BaseException:
        files.discard(stored)  # e.g. a full disk: no files without their order
        raise
    try:
        order = create_order(article_rows(form))
        for item, chunk in zip(order.items, per_item):
            for sf in chunk:
                db.session.add(files.record(order, sf, item=item, user=user))
        for sf in order_files:
            db.session.add(files.record(order, sf, user=user))
        notify.order_created(order)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        files.discard(stored)
        raise
    return order
