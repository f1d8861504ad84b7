"""An order from a spreadsheet: up to ``IMPORT_MAX_ROWS`` articles read from CSV or XLSX, a preview
with the errors per row, then one order with every article, and serial numbers not yet in the
register added to it if the company admin chose so (all in one transaction, or nothing)."""
from __future__ import annotations

from typing import Iterable, Optional

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Company, Device, Order, PortalUser
from app.services import devices, notify, previews, sheets
from app.services.orders import create_portal_order

PREVIEW_KIND = "order-from-file"
MAX_QUANTITY = 9999

# field -> header spellings accepted (English and German, as the portal labels them)
COLUMNS = {
    "article_number": {"Article number", "Article no.", "Artikelnummer", "Artikel-Nr.", "Artikelnr."},
    "description": {"Description", "Bezeichnung"},
    "serial_number": {"Serial number", "Serial no.", "Seriennummer", "Serien-Nr."},
    "quantity": {"Quantity", "Qty", "Menge", "Anzahl"},
    "fault_description": {"Fault description", "Fault", "Fehlerbeschreibung", "Fehler"},
}
REQUIRED = ("description", "fault_description")
# the columns as the portal names them, for messages about a column the file does not have
LABELS = {"article_number": _l("Article number"), "description": _l("Description"),
          "serial_number": _l("Serial number"), "quantity": _l("Quantity"),
          "fault_description": _l("Fault description")}
MAX_LENGTH = {"article_number": 100, "description": 200, "serial_number": 100, "fault_description": 5000}


def max_rows() -> int:
    return int(current_app.config.get("IMPORT_MAX_ROWS", 1000))


def read(upload) -> dict:
    """Read an uploaded file into a preview: ``articles`` (row number and values) and ``errors``
    (row, column, message); articles are only kept when there is no error at all."""
    table = sheets.read_table(upload, COLUMNS, max_rows(), required=REQUIRED)
    errors = [dict(row=e.row, column=str(LABELS[e.column]) if e.column in LABELS else e.column, message=e.message)
              for e in table.errors]
    articles = []
    for row in table.rows:
        if not any((row.get(name) or "").strip() for name in COLUMNS):
            continue  # a row with text only in columns the order does not read
        article, row_errors = _article(row, table)
        errors.extend(row_errors)
        articles.append(article)
    if not errors and not articles:
        errors.append(dict(row=None, column=None, message=str(_l("The file has no articles."))))
    return {"articles": articles if not errors else [], "errors": errors}


def _article(row: sheets.Row, table: sheets.Table) -> tuple[dict, list[dict]]:
    errors = []

    def error(name, message):
        errors.append(dict(row=row.number, column=table.column(name), message=str(message)))

    article = {"row": row.number}
    for name, limit in MAX_LENGTH.items():
        value = (row.get(name) or "").strip()
        if len(value) > limit:
            error(name, _l("At most %(max)s characters.", max=limit))
        article[name] = value or None
    for name in REQUIRED:
        if not article[name] and name in table.headers:  # a missing column is named once, not per row
            error(name, _l("Please fill in this field."))
    raw = (row.get("quantity") or "").strip()
    quantity = 1
    if raw:
        try:
            quantity = int(raw)
        except ValueError:
            quantity = None
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            error("quantity", _l("The quantity must be a whole number from 1 to %(max)s.", max=MAX_QUANTITY))
            quantity = None
    article["quantity"] = quantity
    return article, errors


def new_serials(company_id: int, articles: Iterable[dict]) -> list[dict]:
    """Serial numbers of the articles that the company's register does not hold yet (first row of each)."""
    first: dict[str, dict] = {}
    for article in articles:
        serial = article.get("serial_number")
        if serial and serial not in first:
            first[serial] = article
    if not first:
        return []
    known = set()
    serials = list(first)
    for start in range(0, len(serials), 500):  # the IN list stays small for every database
        known.update(db.session.scalars(select(Device.serial_number).where(
            Device.company_id == company_id, Device.serial_number.in_(serials[start:start + 500]))))
    return [dict(serial_number=s, article_number=a.get("article_number"), description=a.get("description"))
            for s, a in first.items() if s not in known]


def make_preview(upload, reference: str, company_id: int, user: PortalUser) -> tuple[Optional[str], dict]:
    """Read the file; a preview without errors is kept on the server for this user and company (as the
    device import keeps its rows, :mod:`app.services.previews`). Returns (token or None, preview)."""
    preview = read(upload)
    preview["reference"] = reference
    preview["new_serials"] = new_serials(company_id, preview["articles"]) if not preview["errors"] else []
    token = None
    if not preview["errors"]:
        # one stored "row": the order as previewed (reference and articles)
        token = previews.save(PREVIEW_KIND, user.id, company_id,
                              [{"reference": reference, "articles": preview["articles"]}])
    return token, preview


def load_preview(token: str, company_id: int, user: PortalUser) -> Optional[dict]:
    stored = previews.load(PREVIEW_KIND, token, user.id, company_id)
    return stored[0] if stored else None


def discard(token: str) -> None:
    previews.discard(token)


def confirm(token: str, company: Company, user: PortalUser, add_serials: Iterable[str] = (),
            may_add_devices: bool = False) -> Optional[Order]:
    """Create the previewed order (committed) and, for those who keep the register
    (``may_add_devices``), add the chosen new serial numbers to it, in the same transaction. Returns None when the preview is unknown, expired, or not this user's;
    then nothing is saved.

    :raises devices.DeviceInvalid: when a chosen serial number was added to the register meanwhile
        (rolled back; IntegrityError when that happened in the same instant).
    """
    stored = previews.claim(PREVIEW_KIND, token, user.id, company.id)
    preview = stored[0] if stored else None
    if preview is None or not preview.get("articles"):
        db.session.rollback()
        return None
    chosen = set(add_serials) if may_add_devices else set()
    try:
        # only serial numbers the preview offers, as the register has them now
        added = [d for d in new_serials(company.id, preview["articles"]) if d["serial_number"] in chosen]
        if added:
            devices.import_rows(company.id, added, user)
        articles = [{k: a[k] for k in ("article_number", "description", "serial_number", "quantity",
                                       "fault_description")} for a in preview["articles"]]
        order = create_portal_order(company, user, preview["reference"], articles)
        notify.order_created(order)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return order
