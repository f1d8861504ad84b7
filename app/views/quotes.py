"""The customer's decision on a quote (Kostenvoranschlag), on the portal's order page.

The rules are :mod:`app.services.quotes`: who may decide (``may_decide``), one decision per
version (``decide``). Here: another company's order is "not found", a user who may not decide
gets 403, a version that can no longer be decided 409 with the reason, bad input the order page
again with the message next to its field. Nothing is saved unless the decision is taken.
"""
from __future__ import annotations

from typing import Optional

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import QUOTE_DRAFT, Order, Quote
from app.security.scoping import current_company_id, order_or_404
from app.services import quotes
from app.services.quote_pdf import quote_pdf_response
from app.views.portal import render_order_page
from app.views.portal_forms import AcceptQuoteForm, RejectQuoteForm


def _posted_version() -> Optional[int]:
    raw = (request.form.get("version") or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def quote_version_or_none(order: Order, version: int) -> Optional[Quote]:
    """A version of the order's quote that the customer has been sent (drafts are staff's)."""
    return db.session.scalars(
        select(Quote).where(Quote.order_id == order.id, Quote.company_id == current_company_id(),
                            Quote.version == version, Quote.state != QUOTE_DRAFT)
    ).first()


class PortalQuoteView(BaseView):
    """Accept or reject the current quote of one of the company's orders."""

    route_base = "/cc/orders"
    class_permission_name = "PortalQuotes"
    method_permission_name = {"accept": "decide", "reject": "decide", "pdf": "show"}

    def _decide(self, pk: int, accept: bool):
        order = order_or_404(pk)
        if not quotes.may_decide(g.user):
            abort(403)
        current = quotes.current_quote(order.id, current_company_id())
        if current is None:
            abort(404)
        accept_form, reject_form = AcceptQuoteForm(), RejectQuoteForm()
        form = accept_form if accept else reject_form
        version = _posted_version()
        if version is None:
            abort(400)
        quote = current if current.version == version else quote_version_or_none(order, version)
        if quote is None:
            return self._conflict(order, _("This quote cannot be decided."))
        if not form.validate_on_submit():  # too long a PO number; a bad CSRF token
            return self._page(order, accept_form, reject_form, 400)
        # in the reader's language, taken before the commit expires the user it is read from
        if accept:
            thanks = _("Thank you: you accepted the quote. We will start the repair.")
        else:
            thanks = _("You rejected the quote. We will proceed as you chose.")
        try:
            quotes.decide(quote, g.user, accept=accept,
                          po_number=accept_form.po_number.data if accept else None,
                          reject_action=None if accept else reject_form.reject_action.data)
            db.session.commit()
        except quotes.QuoteInvalid as invalid:
            db.session.rollback()
            field = getattr(form, invalid.field, None)
            if field is None:
                flash(invalid.message, "danger")
            else:
                field.errors = list(field.errors or []) + [invalid.message]
            return self._page(order, accept_form, reject_form, 400)
        except quotes.QuoteConflict as conflict:
            db.session.rollback()
            return self._conflict(order, conflict.message)
        except BaseException:
            db.session.rollback()
            raise
        flash(thanks, "success")
        return redirect(url_for("PortalOrderView.show", pk=pk) + "#quote")

    def _page(self, order, accept_form, reject_form, status):
        return render_order_page(self, order, accept_form=accept_form, reject_form=reject_form, status=status)

    def _conflict(self, order, message: str):
        """409: the version was decided, replaced or has expired; the page shows the quote as it is now."""
        db.session.expire_all()
        order = order_or_404(order.id)
        flash(message, "warning")
        return render_order_page(self, order, status=409)

    @expose("/<int:pk>/quote/accept", methods=["POST"])
    @has_access
    def accept(self, pk):
        return self._decide(pk, accept=True)

    @expose("/<int:pk>/quote/reject", methods=["POST"])
    @has_access
    def reject(self, pk):
        return self._decide(pk, accept=False)

    @expose("/<int:pk>/quote/pdf")
    @has_access
    def pdf(self, pk):
        """The current quote as a PDF in the reader's language (never a draft)."""
        order = order_or_404(pk)
        quote = quotes.current_quote(order.id, current_company_id(), with_lines=True)
        if quote is None:
            abort(404)
        return quote_pdf_response(quote, str(get_locale()))
