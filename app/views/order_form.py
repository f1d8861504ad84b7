"""Sending a new order with articles and files: shared by the portal and the public order form."""
from __future__ import annotations

from typing import Callable, Optional

from flask import flash, request
from flask_babel import gettext as _

from app.extensions import db
from app.models import Order
from app.services import files, idempotency, notify

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


class SendAgain(Exception):
    """The form's token cannot be used (taken by another request that did not finish, or for
    other data): the form is shown again with a new token."""


def give_form_token(form) -> None:
    """A form being shown gets its one-time token; shown again (errors, "Add article") it keeps it."""
    if not idempotency.form_token(form.form_token.data):
        form.form_token.data = idempotency.new_form_token()


def renew_form_token(form) -> None:
    form.form_token.data = idempotency.new_form_token()


def form_once(form, user_id: Optional[int], purpose: str, payload=None) -> Optional[tuple]:
    """What :func:`save_order_with_files` needs to make one order of this form however often it
    is sent: the owner, the form's token and the request's hash (None: the form has no token)."""
    token = idempotency.form_token(form.form_token.data)
    if token is None:
        return None
    return user_id, token, idempotency.request_hash(purpose, payload)


def order_sent_before(once: Optional[tuple]) -> Optional[Order]:
    """The order this form's token already made (the form was sent before), or None.

    :raises SendAgain: the token was used for other data.
    """
    if once is None:
        return None
    try:
        entry = idempotency.find(*once)
    except idempotency.KeyConflict:
        raise SendAgain() from None
    return db.session.get(Order, entry.order_id) if entry is not None and entry.order_id else None


def save_order_with_files(form, create_order: Callable[[list[dict]], Order], user=None,
                          once: Optional[tuple] = None) -> Optional[Order]:
    """Files and rows together, or nothing: no order without its files, no orphan files.

    ``create_order(articles)`` adds the order (flushed, not committed). Staff hear of it.
    Returns None when a file was refused; the message is then at its field. With ``once``
    (:func:`form_once`) the form's token is written with the order, in its transaction.

    :raises idempotency.Replay: the same form was sent at the same moment and made its order
        (nothing of this request is kept).
    :raises SendAgain: the token cannot be used (nothing kept).
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
        entry = idempotency.claim(*once) if once else None
        order = create_order(article_rows(form))
        if entry is not None:
            idempotency.remember(entry, order)
        for item, chunk in zip(order.items, per_item):
            for sf in chunk:
                db.session.add(files.record(order, sf, item=item, user=user))
        for sf in order_files:
            db.session.add(files.record(order, sf, user=user))
        notify.order_created(order)
        db.session.commit()
    except (idempotency.KeyConflict, idempotency.KeyInProgress):
        db.session.rollback()
        files.discard(stored)
        raise SendAgain() from None
    except BaseException:
        db.session.rollback()
        files.discard(stored)
        raise
    return order
