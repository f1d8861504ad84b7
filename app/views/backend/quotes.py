"""Staff write, revise and send an order's quote (Kostenvoranschlag); its PDF per version.

The rules are in :mod:`app.services.quotes`; this module turns the editor's form into lines for
``save_draft`` and its :class:`QuoteInvalid` back into a message at the field.
"""
from __future__ import annotations

from typing import Optional

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import FieldList, Form, FormField, SelectField, StringField, TextAreaField
from wtforms.fields import DateField
from wtforms.validators import Length
from wtforms.validators import Optional as OptionalValue

from app.errors import valid_id
from app.extensions import db
from app.models import QUOTE_ACCEPTED, QUOTE_DRAFT, QUOTE_REJECTED, QUOTE_REPLACED, QUOTE_SENT, Order, Quote
from app.services import quotes
from app.services.quote_pdf import decision_lines, quote_pdf_response

# FieldList's own cap (it silently drops rows beyond it): far above QUOTE_MAX_LINES, so that
# a longer quote reaches save_draft and is refused with a message instead of being cut short.
MAX_ROWS = 500
LINE_FIELDS = ("text", "quantity", "unit_price", "item_id")


class QuoteLineForm(Form):
    # amounts as text: quotes.to_decimal reads "12,50" and "12.50", and says what is wrong
    text = StringField(_l("Text"), validators=[Length(max=300)])
    quantity = StringField(_l("Quantity"), validators=[Length(max=20)])
    unit_price = StringField(_l("Unit price net"), validators=[Length(max=20)])
    item_id = SelectField(_l("Article"), choices=[], validate_choice=False)


class QuoteForm(FlaskForm):
    vat_rate = StringField(_l("VAT rate (%)"), validators=[Length(max=10)])
    valid_until = DateField(_l("Valid until"), validators=[OptionalValue()])
    note = TextAreaField(_l("Note for the customer"), validators=[Length(max=5000)])
    lines = FieldList(FormField(QuoteLineForm), min_entries=0, max_entries=MAX_ROWS)


STATE_LABELS = {QUOTE_DRAFT: _l("Draft"), QUOTE_SENT: _l("Sent"), QUOTE_ACCEPTED: _l("Accepted"),
                QUOTE_REJECTED: _l("Rejected"), QUOTE_REPLACED: _l("Replaced by a newer version")}


def state_label(quote: Quote) -> str:
    """The quote's state in words; a sent quote past its date reads as expired."""
    if quote.expired():
        return _("Expired")
    return str(STATE_LABELS.get(quote.state, quote.state))


def quote_context(order: Order) -> dict:
    """What the order page's quote section needs (backend/_quote.html)."""
    return {"quote_versions": quotes.versions(order), "quote_state_label": state_label,
            "quote_decision_lines": decision_lines}


def _plain(value, pattern: str) -> str:
    """A number for an input field: the reader's decimal sign, no thousands separator."""
    return format_decimal(value, pattern) if value is not None else ""


def _line_data(quote: Optional[Quote]) -> list[dict]:
    if quote is None:
        return [{}]
    return [{"text": line.text, "quantity": _plain(line.quantity, "0.##"),
             "unit_price": _plain(line.unit_price, "0.00"), "item_id": str(line.item_id or "")}
            for line in quote.lines]


def _blank(row: dict) -> bool:
    return not any((row.get(name) or "").strip() for name in ("text", "quantity", "unit_price", "item_id"))


def article_choices(order: Order) -> list[tuple[str, str]]:
    """The order's own articles, the only ones a line can be tied to."""
    choices = [("", _("– none –"))]
    for n, item in enumerate(order.items, start=1):
        label = " · ".join(p for p in (item.article_number, item.description, item.serial_number) if p)
        choices.append((str(item.id), _("Article %(n)d: %(label)s", n=n, label=label)))
    return choices


class StaffQuoteView(BaseView):
    """The quote editor and the quote's actions, under the staff order's address."""

    route_base = "/backend/orders"
    class_permission_name = "StaffOrders"
    method_permission_name = {"edit": "quote", "send": "quote", "pdf": "show"}
    default_view = "edit"

    def _order_or_404(self, pk) -> Order:
        order = db.session.get(Order, pk)
        if order is None:
            abort(404)
        return order

    def _form(self, order: Order, formdata=None, **data) -> QuoteForm:
        form = QuoteForm(formdata=formdata, **data)
        choices = article_choices(order)
        for entry in form.lines:
            entry.form.item_id.choices = choices
        return form

    def _prefilled(self, order: Order) -> tuple[QuoteForm, Optional[Quote], bool]:
        draft = quotes.draft_of(order)
        latest = draft or next(iter(quotes.versions(order)), None)
        data = {"vat_rate": _plain(latest.vat_rate if latest else quotes.default_vat_rate(), "0.##"),
                "valid_until": draft.valid_until if draft else quotes.default_valid_until(),
                "note": latest.note if latest else "", "lines": _line_data(latest)}
        return self._form(order, formdata=None, **data), draft, latest is not None and draft is None

    @expose("/<int:pk>/quote", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        """Write the draft, or revise the last version (saving makes a new version)."""
        order = self._order_or_404(pk)
        if request.method == "GET":
            form, draft, revision = self._prefilled(order)
            return self._render(order, form, {}, draft, revision)

        form = self._form(order, formdata=request.form)
        draft = quotes.draft_of(order)
        revision = draft is None and bool(quotes.versions(order))
        max_lines = int(current_app.config.get("QUOTE_MAX_LINES", 100))
        errors: dict[str, list[str]] = {}
        if "add_line" in request.form:
            if len(form.lines) >= max_lines:
                errors["lines"] = [_("A quote has at most %(count)s lines.", count=max_lines)]
            else:
                form.lines.append_entry()
                form.lines[-1].form.item_id.choices = article_choices(order)
            return self._render(order, form, errors, draft, revision)
        if "remove_line" in request.form:
            index = valid_id(request.form.get("remove_line"))
            rows = [{name: entry.form[name].data for name in LINE_FIELDS} for entry in form.lines]
            if index is not None and 1 <= index <= len(rows):
                del rows[index - 1]
            form = self._form(order, formdata=None, vat_rate=form.vat_rate.data, valid_until=form.valid_until.data,
                              note=form.note.data, lines=rows or [{}])
            return self._render(order, form, errors, draft, revision)

        valid = form.validate()
        errors = self._form_errors(form)
        if form.valid_until.data is None and "valid_until" not in errors:
            errors["valid_until"] = [_("Please enter a date.")]
        if not valid or errors:
            return self._render(order, form, errors, draft, revision)
        rows, positions = [], []
        for index, entry in enumerate(form.lines):
            row = {name: entry.form[name].data for name in LINE_FIELDS}
            if _blank(row):
                continue  # an empty row from "Add line"
            item_id = valid_id(row["item_id"]) if row["item_id"] else None
            if row["item_id"] and item_id is None:
                errors[entry.form.item_id.name] = [_("Not an article of this order.")]
            rows.append({"text": row["text"], "quantity": row["quantity"], "unit_price": row["unit_price"],
                         "item_id": item_id})
            positions.append(index)
        if errors:
            return self._render(order, form, errors, draft, revision)
        try:
            quote = quotes.save_draft(order, g.user, lines=rows, vat_rate=form.vat_rate.data or "",
                                      valid_until=form.valid_until.data, note=form.note.data)
        except quotes.QuoteInvalid as invalid:
            db.session.rollback()
            errors[self._form_field(invalid.field, positions)] = [invalid.message]
            order = self._order_or_404(pk)
            return self._render(order, form, errors, draft, revision)
        db.session.commit()
        flash(_("Quote version %(version)s saved as a draft. Send it when it is complete.", version=quote.version),
              "success")
        return redirect(url_for("StaffOrderView.show", pk=order.id) + "#quote")

    @staticmethod
    def _form_field(field: str, positions: list[int]) -> str:
        """The service numbers the non-empty lines; the form numbers every row."""
        if field.startswith("lines-"):
            _prefix, number, name = field.split("-", 2)
            number = int(number)
            if number < len(positions):
                return f"lines-{positions[number]}-{name}"
        return field

    @staticmethod
    def _form_errors(form: QuoteForm) -> dict[str, list[str]]:
        errors = {}
        for name in ("vat_rate", "valid_until", "note"):
            if form[name].errors:
                errors[name] = [str(e) for e in form[name].errors]
        for entry in form.lines:
            for name in LINE_FIELDS:
                field = entry.form[name]
                if field.errors:
                    errors[field.name] = [str(e) for e in field.errors]
        csrf = getattr(form, "csrf_token", None)
        if csrf is not None and csrf.errors:
            errors["lines"] = [_("The form has expired. Please send it again.")]
        return errors

    def _render(self, order: Order, form: QuoteForm, errors: dict, draft, revision: bool):
        if not form.lines.entries:
            form.lines.append_entry()
            form.lines[-1].form.item_id.choices = article_choices(order)
        summary = self._summary(form, errors)
        title = _("Revise quote") if revision else _("Write quote")
        return self.render_template("backend/quote_edit.html", order=order, form=form, errors=errors,
                                    summary=summary, draft=draft, revision=revision, title=title,
                                    max_lines=int(current_app.config.get("QUOTE_MAX_LINES", 100)))

    @staticmethod
    def _summary(form: QuoteForm, errors: dict) -> list[tuple[Optional[str], str]]:
        """(field id or None, text) for the error summary, in the order of the page."""
        out = []
        for name in ("vat_rate", "valid_until", "note"):
            if name in errors:
                out.append((name, str(form[name].label.text)))
        for number, entry in enumerate(form.lines, start=1):
            for name in LINE_FIELDS:
                field = entry.form[name]
                if field.name in errors:
                    out.append((field.id, _("Line %(n)d: %(field)s", n=number, field=field.label.text)))
        for message in errors.get("lines", []):
            out.append((None, message))
        return out

    @expose("/<int:pk>/quote/send", methods=["POST"])
    @has_access
    def send(self, pk):
        """Send the draft (the version in the form): frozen, mailed, perhaps approved at once."""
        order = self._order_or_404(pk)
        version = valid_id(request.form.get("version"))
        stmt = select(Quote).where(Quote.order_id == order.id)
        stmt = stmt.where(Quote.version == version) if version else stmt.order_by(Quote.version.desc()).limit(1)
        quote = db.session.scalars(stmt).first()
        if quote is None:
            flash(_("There is no quote to send yet."), "danger")
            return redirect(url_for("StaffOrderView.show", pk=order.id) + "#quote")
        try:
            quote = quotes.send(quote, g.user)
        except quotes.QuoteConflict as conflict:
            db.session.rollback()
            flash(conflict.message, "warning")
            return redirect(url_for("StaffOrderView.show", pk=order.id) + "#quote")
        accepted = quote.auto_approved_limit is not None
        db.session.commit()  # the mails go out after the commit (app.services.mail)
        if accepted:
            from app.i18n import format_money

            flash(_("Quote sent. It is within the company's approval limit of %(limit)s and was approved "
                    "automatically.", limit=format_money(quote.auto_approved_limit, quote.currency)), "success")
        else:
            flash(_("Quote sent."), "success")
        return redirect(url_for("StaffOrderView.show", pk=order.id) + "#quote")

    @expose("/<int:pk>/quote/<int:version>/pdf", methods=["GET"])
    @has_access
    def pdf(self, pk, version):
        """Any version of the order's quote as a PDF, in the staff user's language."""
        order = self._order_or_404(pk)
        if valid_id(version) is None:  # e.g. 10**20: PostgreSQL would refuse the query
            abort(404)
        quote = db.session.scalars(select(Quote).where(Quote.order_id == order.id, Quote.version == version)).first()
        if quote is None:
            abort(404)
        return quote_pdf_response(quote, str(get_locale() or "de")[:2])
