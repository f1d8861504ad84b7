"""What every backend view shares: column labels, formatters, the capped page size, saved messages."""
from __future__ import annotations

from urllib.parse import quote

from flask import g, url_for
from flask_appbuilder import ModelView
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import BooleanField
from wtforms.widgets import CheckboxInput

from app.i18n import format_date, format_datetime

LABELS = {
    "rma_number": _l("RMA number"),
    "reference": _l("Reference number"),
    "company": _l("Company"),
    "source": _l("Source"),
    "status": _l("Status"),
    "created_at": _l("Created at"),
    "due_date": _l("Due by"),
    "warranty": _l("Warranty"),  # the order list filter: an article in warranty / expired / unknown
    "updated_at": _l("Updated at"),
    "created_by": _l("Created by"),
    "customer_name": _l("Customer"),
    "contact_person": _l("Contact person"),
    "street": _l("Street"),
    "postcode": _l("Postcode"),
    "city": _l("City"),
    "country": _l("Country"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "items": _l("Serial number"),
    "item_count": _l("Articles"),
    "article_number": _l("Article number"),
    "description": _l("Description"),
    "serial_number": _l("Serial number"),
    "quantity": _l("Quantity"),
    "fault_description": _l("Fault description"),
    "customer_number": _l("Customer number"),
    "name": _l("Name"),
    "vat_id": _l("VAT ID"),
    "active": _l("Active"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "roles": _l("Roles"),
    "last_login": _l("Last login"),
    "code": _l("Code"),
    "label_de": _l("German label"),
    "label_en": _l("English label"),
    "position": _l("Position"),
    "is_initial": _l("Initial"),
    "is_final": _l("Final"),
    "order": _l("Order"),
    "from_status": _l("From"),
    "to_status": _l("To"),
    "changed_by": _l("Changed by"),
    "changed_at": _l("Changed at"),
    "note": _l("Note"),
    "approval_limit": _l("Approval limit"),
    "po_number_required": _l("Purchase order number required"),
    "turnaround_days": _l("Turnaround (working days)"),
    "may_approve_quotes": _l("May approve quotes"),
}

# FAB routes the backend never uses: generic actions and FAB's unscoped file download.
NO_GENERIC_ROUTES = {"action", "action_post", "download"}


SOURCE_LABELS = {"portal": _l("Portal"), "frontend": _l("Order form"), "backend": _l("Backend")}


class RecordLink:
    """The link of a list row's show/edit/delete button (``record_link`` in the list widget).

    FAB's widget built each with ``url_for`` and ``set_link_filters``, two or three a row: a tenth of
    the staff list. The link of a record is one built link with the record's key at its end, so one
    is built for the page and the rows follow its pattern. False where the endpoint does not exist
    (FAB's ``safe_url_for``: the button is left out); a link whose key is not at its end is built
    per row as before.
    """

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        try:
            url = url_for(endpoint, pk=0)
        except Exception:  # noqa: BLE001 - as FAB's safe_url_for: no such endpoint, no button
            self.exists, self.prefix = False, None
            return
        self.exists = True
        self.prefix = url[:-1] if url.endswith("/0") else None

    def __bool__(self) -> bool:
        return self.exists

    def __call__(self, pk) -> str:
        if self.prefix is None:
            return url_for(self.endpoint, pk=pk)
        return self.prefix + quote(str(pk), safe="")


def fmt_datetime(value) -> str:
    """Local time in the user's language (stored as UTC)."""
    return format_datetime(value, "short") if value else "–"


def fmt_date(value) -> str:
    return format_date(value, "medium") if value else "–"


def fmt_optional(value) -> str:
    return str(value) if value not in (None, "") else "–"


def fmt_rma_number(value) -> Markup:
    """An RMA number stays on one line (a break inside it would read as two numbers)."""
    return Markup('<span class="rma-number">{}</span>').format(value or "")


ORDER_FORMATTERS = {
    "rma_number": fmt_rma_number,
    "created_at": fmt_datetime,
    "updated_at": fmt_datetime,
    "due_date": fmt_date,
    "company": fmt_optional,
    "created_by": fmt_optional,
    "source": lambda v: SOURCE_LABELS.get(v, v),
}


def fmt_bool(value) -> str:
    return str(_l("Yes") if value else _l("No"))


def fmt_roles(roles) -> str:
    from app.security.roles import role_label

    return ", ".join(role_label(r.name) for r in roles or [])


def changed_values(obj, names) -> tuple[dict, dict]:
    """Old and new values of the attributes changed on ``obj`` in this session."""
    from sqlalchemy import inspect

    state = inspect(obj)
    old, new = {}, {}
    for name in names:
        history = state.attrs[name].history
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if history.has_changes() and (before or None) != (after or None):
            old[name], new[name] = before, after
    return old, new


MAX_PAGE_SIZE = 100
MAX_PAGE = 1_000_000


def _saved_message(created: bool) -> str:
    """Which record was saved ("Order “RMA-2026-000012” saved."), instead of FAB's "Changed Row"."""
    what, name = g.get("saved_record", ("", ""))
    if created:
        return _("%(what)s “%(name)s” created.", what=what, name=name)
    return _("%(what)s “%(name)s” saved.", what=what, name=name)


class StaffModelView(ModelView):
    """FAB's ModelView with the page size capped (FAB accepts any ``psize_…``) and
    messages that name the record that was saved."""

    record_name = _l("Entry")  # what one record of the view is called in messages
    add_row_message = LazyString(lambda: _saved_message(created=True))
    edit_row_message = LazyString(lambda: _saved_message(created=False))

    def post_add(self, item) -> None:
        g.saved_record = (str(self.record_name), str(item))

    def post_update(self, item) -> None:
        g.saved_record = (str(self.record_name), str(item))

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="", page=None,
                         page_size=None, widgets=None, **kwargs):
        page_size = min(page_size or self.page_size, MAX_PAGE_SIZE)
        if order_column and order_column not in self.order_columns:  # ?_oc_… names no sortable column
            order_column, order_direction = "", ""
        if page is not None:  # a page past any list: its offset would overflow the database's integer
            page = max(0, min(page, MAX_PAGE))
        return super()._get_list_widget(filters, actions=actions, order_column=order_column,
                                        order_direction=order_direction, page=page, page_size=page_size,
                                        widgets=widgets, **kwargs)


def checkboxes(*names: str) -> dict:
    """Optional checkboxes for NOT NULL booleans.

    FAB puts DataRequired on every non-nullable column, so an unticked box
    (False) would be refused as "required".
    """
    return {name: BooleanField(LABELS[name], widget=CheckboxInput()) for name in names}
