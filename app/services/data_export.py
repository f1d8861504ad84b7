"""Data export, "Datenauskunft" (DSGVO Art. 15 access and Art. 20 portability).

A user asks for a ZIP of their own data: their personal data and the orders they created (JSON and
CSV). A company admin may ask for the whole company's: the company, its employees, every order and
the device register. The ZIP is built in the background — by ``flask portal worker``, or right
after the response with ``MAIL_DELIVERY=request`` — streamed into the file storage (local folder or
bucket), offered for download for ``DATA_EXPORT_DAYS`` (7) days and then deleted (``flask portal
retention``, or the next request for the list).

Each export is claimed before it is built (one atomic UPDATE, a lease of ``DATA_EXPORT_LEASE``
seconds), so any number of workers build it once. Every CSV cell that a spreadsheet would read as a
formula is neutralised (app/services/export.py ``cell``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import secrets
import tempfile
import zipfile
from typing import Iterable, Optional

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    EXPORT_COMPANY,
    EXPORT_FAILED,
    EXPORT_PENDING,
    EXPORT_READY,
    EXPORT_USER,
    Company,
    DataExport,
    Device,
    Order,
    OrderMessage,
    OrderStatus,
    PortalUser,
    utcnow,
)
from app.services.export import BOM, cell

from app.services import claims
log = logging.getLogger(__name__)
BATCH = 500


class ExportRefused(PermissionError):
    """The user may not ask for this export (a company's data is for its admins)."""


def keep_days() -> int:
    return int(current_app.config.get("DATA_EXPORT_DAYS", 7))


def may_export_company(user: PortalUser) -> bool:
    from app.security import roles

    return bool(user.company_id) and user.has_role(roles.COMPANY_ADMIN)


def request_export(user: PortalUser, scope: str) -> DataExport:
    """Ask for an export (not committed); one that is still being built is handed back instead.

    :raises ExportRefused: for a company export asked by someone who is not its admin.
    """
    if scope not in (EXPORT_USER, EXPORT_COMPANY):
        raise ExportRefused(scope)
    if scope == EXPORT_COMPANY and not may_export_company(user):
        raise ExportRefused(scope)
    waiting = db.session.scalars(select(DataExport).where(
        DataExport.user_id == user.id, DataExport.scope == scope, DataExport.state == EXPORT_PENDING)).first()
    if waiting is not None:
        return waiting
    export = DataExport(user_id=user.id, company_id=user.company_id, scope=scope, state=EXPORT_PENDING,
                        created_at=utcnow())
    db.session.add(export)
    return export


def _visible(user: PortalUser):
    """The exports a user sees: their own, and a company admin also the company's."""
    condition = DataExport.user_id == user.id
    if may_export_company(user):
        condition = or_(condition, (DataExport.company_id == user.company_id) & (DataExport.scope == EXPORT_COMPANY))
    return condition


def exports_of(user: PortalUser) -> list[DataExport]:
    """The user's exports, newest first (expired ones are gone)."""
    now = utcnow()
    return list(db.session.scalars(
        select(DataExport).where(_visible(user), or_(DataExport.expires_at.is_(None), DataExport.expires_at > now))
        .order_by(DataExport.id.desc()).limit(20)))


def export_or_none(user: PortalUser, pk: int) -> Optional[DataExport]:
    """A ready, unexpired export the user may download; None for anything else (another user's,
    another company's, not ready, expired)."""
    return db.session.scalars(select(DataExport).where(
        DataExport.id == pk, _visible(user), DataExport.state == EXPORT_READY,
        DataExport.expires_at > utcnow())).first()


def file_name(export: DataExport) -> str:
    stamp = f"{(export.ready_at or export.created_at):%Y-%m-%d}"
    return f"data-export-{export.scope}-{stamp}.zip"


# -- building ------------------------------------------------------------------------------------
def _claim(export_id: int, sender: str) -> bool:
    """Take one pending export for this builder (app/services/claims.py); the lease is ``DATA_EXPORT_LEASE``."""
    now = utcnow()
    lease_start = now - dt.timedelta(seconds=current_app.config.get("DATA_EXPORT_LEASE", 600))
    return claims.claim(DataExport, export_id, sender, now, DataExport.state == EXPORT_PENDING,
                        or_(DataExport.claimed_at.is_(None), DataExport.claimed_at < lease_start))


def build(export_id: int) -> bool:
    """Build one export if no one else is building it; True when this call built it."""
    from app.services.storage import get_storage

    sender = claims.claimer_id()
    if not _claim(export_id, sender):
        log.info("data export %s not built here: another builder has it, or it is no longer waiting", export_id)
        return False
    export = db.session.get(DataExport, export_id, populate_existing=True)
    name = secrets.token_hex(16)
    storage = get_storage()
    try:
        with tempfile.TemporaryFile() as spool:  # never whole in memory, however large the company
            write_zip(export, spool)
            size = spool.tell()
            spool.seek(0)
            storage.save(name, spool)
    except Exception as error:  # noqa: BLE001 - recorded for staff, the user sees "failed"
        db.session.rollback()
        log.exception("data export %s failed", export_id)
        db.session.execute(update(DataExport).where(DataExport.id == export_id).values(
            state=EXPORT_FAILED, error=f"{type(error).__name__}: {error}"[:2000]))
        db.session.commit()
        return False
    now = utcnow()
    export = db.session.get(DataExport, export_id, populate_existing=True)
    export.state, export.stored_name, export.size = EXPORT_READY, name, size
    export.ready_at, export.expires_at = now, now + dt.timedelta(days=keep_days())
    db.session.commit()
    return True


def build_pending(limit: int = 5, ids: Optional[Iterable[int]] = None) -> tuple[int, int]:
    """Build the exports that wait (or ``ids``); returns (built, failed)."""
    stmt = select(DataExport.id).where(DataExport.state == EXPORT_PENDING).order_by(DataExport.id).limit(limit)
    if ids is not None:
        stmt = stmt.where(DataExport.id.in_(list(ids)))
    built = failed = 0
    for export_id in list(db.session.scalars(stmt)):
        if build(export_id):
            built += 1
        elif db.session.get(DataExport, export_id, populate_existing=True).state == EXPORT_FAILED:
            failed += 1
    return built, failed


def expire(now: Optional[dt.datetime] = None) -> int:
    """Delete the exports past their download period, files first; returns how many."""
    from app.services.storage import get_storage

    now = now or utcnow()
    rows = db.session.execute(select(DataExport.id, DataExport.stored_name).where(DataExport.expires_at <= now)).all()
    if not rows:
        return 0
    db.session.execute(delete(DataExport).where(DataExport.id.in_([r.id for r in rows])))
    db.session.commit()
    storage = get_storage()
    for _id, name in rows:
        if name:
            storage.delete(name)
    return len(rows)


# -- the ZIP's content -----------------------------------------------------------------------------
def _iso(value) -> Optional[str]:
    return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else (
        value.isoformat() if isinstance(value, dt.date) else value)


def _user_data(user: PortalUser) -> dict:
    return {"first_name": user.first_name, "last_name": user.last_name, "email": user.email, "phone": user.phone,
            "language": user.language, "orders_per_page": user.page_size, "active": user.active,
            "created_on": _iso(user.created_on), "last_login": _iso(user.last_login),
            "roles": [role.name for role in user.roles],
            # whether and since when the user logs in with a second factor; never the key or the codes
            "two_factor_login_since": _iso(user.totp_enabled_at) if user.totp_secret else None}


def _company_data(company: Company) -> dict:
    return {"customer_number": company.customer_number, "name": company.name, "street": company.street,
            "postcode": company.postcode, "city": company.city, "country": company.country,
            "phone": company.phone, "email": company.email, "vat_id": company.vat_id,
            "created_at": _iso(company.created_at)}


ARTICLE_HEADER = ["rma_number", "reference", "created_at", "status", "article_number", "description",
                  "serial_number", "quantity", "fault_description"]


def _order_data(order: Order, labels: dict[int, str], messages: list[OrderMessage]) -> dict:
    return {
        "rma_number": order.rma_number, "reference": order.reference, "source": order.source,
        "created_at": _iso(order.created_at), "status": labels.get(order.status_id),
        "completed_at": _iso(order.completed_at), "due_date": _iso(order.due_date),
        "created_by": order.created_by.email if order.created_by else None,
        "customer_data": {f: getattr(order, f) for f in ("customer_name", "contact_person", "street", "postcode",
                                                          "city", "country", "email", "phone")},
        "articles": [{"article_number": i.article_number, "description": i.description,
                      "serial_number": i.serial_number, "quantity": i.quantity,
                      "fault_description": i.fault_description} for i in order.items],
        "status_history": [{"at": _iso(c.changed_at), "status": labels.get(c.to_status_id), "note": c.note}
                           for c in order.status_changes],
        "messages": [{"at": _iso(m.created_at), "from_service": m.from_staff, "text": m.body}
                     for m in messages],
        "files": [{"name": a.original_name, "size": a.size, "uploaded_at": _iso(a.uploaded_at)}
                  for a in order.attachments],
    }


def _csv(rows: Iterable[list], header: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return (BOM + out.getvalue()).encode("utf-8")


def _write_orders(zf: zipfile.ZipFile, condition, labels: dict[int, str]) -> int:
    """orders.json (streamed, in batches) and articles.csv (a row per article)."""
    count, last_id = 0, 0
    articles = io.StringIO()
    writer = csv.writer(articles, delimiter=";", lineterminator="\r\n")
    writer.writerow(ARTICLE_HEADER)
    with zf.open("orders.json", "w") as out:
        out.write(b"[")
        while True:
            batch = list(db.session.scalars(
                select(Order).where(condition, Order.id > last_id).order_by(Order.id).limit(BATCH)
                .options(selectinload(Order.items), selectinload(Order.status_changes),
                         selectinload(Order.attachments), selectinload(Order.created_by))))
            if not batch:
                break
            messages: dict[int, list] = {}
            for message in db.session.scalars(select(OrderMessage).where(
                    OrderMessage.order_id.in_([o.id for o in batch]), OrderMessage.internal.is_(False))
                    .order_by(OrderMessage.created_at, OrderMessage.id)):
                messages.setdefault(message.order_id, []).append(message)
            for order in batch:
                out.write((b"," if count else b"") + b"\n" + json.dumps(
                    _order_data(order, labels, messages.get(order.id, [])), ensure_ascii=False).encode("utf-8"))
                for item in order.items:
                    writer.writerow([cell(v) for v in (order.rma_number, order.reference, _iso(order.created_at),
                                                       labels.get(order.status_id), item.article_number,
                                                       item.description, item.serial_number, item.quantity,
                                                       item.fault_description)])
                count += 1
            last_id = batch[-1].id
            db.session.expunge_all()  # a large company's orders never stay in memory together
        out.write(b"\n]\n")
    zf.writestr("articles.csv", (BOM + articles.getvalue()).encode("utf-8"))
    return count


README = """Data export / Datenauskunft

personal_data.json  your personal data as the portal keeps it / Ihre persönlichen Daten
company.json        the company (company export) / die Firma (Export der Firma)
employees.csv       the company's users (company export) / die Benutzer der Firma
devices.csv         the device register (company export) / das Geräteverzeichnis
orders.json         the orders with articles, status history, messages and file names /
                    die Aufträge mit Artikeln, Bearbeitungsstatus, Nachrichten und Dateinamen
articles.csv        one row per article / eine Zeile je Artikel (UTF-8, separator ";")
"""


def write_zip(export: DataExport, fileobj) -> None:
    """The export's ZIP into ``fileobj``."""
    user = db.session.get(PortalUser, export.user_id)
    english = (user.language or "de") == "en"
    labels = {s.id: (s.label_en if english else s.label_de) for s in db.session.scalars(select(OrderStatus))}
    with zipfile.ZipFile(fileobj, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", README)
        meta = {"export": export.scope, "created_at": _iso(utcnow()), "requested_by": user.email}
        if export.scope == EXPORT_USER:
            zf.writestr("personal_data.json", json.dumps(meta | {"user": _user_data(user)}, ensure_ascii=False,
                                                         indent=1))
            condition = (Order.created_by_id == user.id) & (Order.company_id == export.company_id)
        else:
            company = db.session.get(Company, export.company_id)
            zf.writestr("company.json", json.dumps(meta | {"company": _company_data(company)}, ensure_ascii=False,
                                                   indent=1))
            employees = db.session.scalars(select(PortalUser).where(PortalUser.company_id == company.id)
                                           .order_by(PortalUser.id))
            zf.writestr("employees.csv", _csv(
                ([u.first_name, u.last_name, u.email, u.phone, u.active, _iso(u.last_login)] for u in employees),
                ["first_name", "last_name", "email", "phone", "active", "last_login"]))
            devices = db.session.scalars(select(Device).where(Device.company_id == company.id).order_by(Device.id))
            zf.writestr("devices.csv", _csv(
                ([d.serial_number, d.article_number, d.description, _iso(d.delivered_on), _iso(d.warranty_until),
                  d.location, d.note, d.active] for d in devices),
                ["serial_number", "article_number", "description", "delivered_on", "warranty_until", "location",
                 "note", "active"]))
            condition = Order.company_id == company.id
        _write_orders(zf, condition, labels)
