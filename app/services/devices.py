"""The companies' device registers: search by serial number, warranty of an order's articles,
service history and repeat repairs.

Every function takes the company it works for (``None`` only where staff read every company);
the views and the API pass the caller's company from :mod:`app.security.scoping`.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, true, union
from sqlalchemy.orm import aliased

from app.extensions import db
from app.services import audit
from app.models import Device, Order, OrderItem, OrderStatus, StatusChange, utcnow

SEARCH_LIMIT = 10


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(column, pattern: str):
    """``column LIKE pattern`` regardless of case: SQLite's LIKE already ignores the case of ASCII
    letters, and comparing the column as it is lets it read the values straight from the index;
    ``lower()`` on both sides (SQLAlchemy's ``ilike`` there) would double the time of a scan."""
    if db.session.get_bind().dialect.name == "sqlite" or pattern.lower() == pattern.upper():
        # (a text without letters matches alike in either case: PostgreSQL's LIKE takes half the
        # time of its ILIKE, 2.2 against 3.9 ms through a register of 10,000 devices)
        return column.like(pattern, escape="\\")
    return column.ilike(pattern, escape="\\")


# ASCII characters that are no letters: a change of case never alters them, nor makes one of them
_CASELESS_RUN = re.compile(r"[\x20-\x40\x5b-\x60\x7b-\x7e]+")


def _contains(column, text: str):
    """``column`` contains ``text``, regardless of case. On PostgreSQL the case-insensitive ILIKE
    costs five times a LIKE on each value, so a text with letters is first matched on its longest
    run of digits and signs ("09984" of "sn09984"): every value that contains the text in any case
    contains that run as it is, and the plain LIKE leaves the ILIKE a handful of values."""
    condition = _matches(column, f"%{_like_escape(text)}%")
    run = max(_CASELESS_RUN.findall(text), key=len, default="")
    if run and run != text and db.session.get_bind().dialect.name != "sqlite":
        return and_(column.like(f"%{_like_escape(run)}%", escape="\\"), condition)
    return condition


def _after(text: str) -> str:
    """The smallest string greater than every string starting with ``text``."""
    return text[:-1] + chr(ord(text[-1]) + 1)


def search(company_id: int, text: str, limit: int = SEARCH_LIMIT) -> list[Device]:
    """The company's active devices whose serial number contains ``text`` (case-insensitive),
    those starting with it first, each group by serial number; at most ``limit``.

    Serial numbers starting with the text come from a range of the (company, serial number)
    index, as typed, in capitals and in small letters, so typing a serial
    number from its start costs next to nothing however large the register; only when those do
    not fill the answer does one walk of the company's index, in serial-number order and stopping
    at ``limit``, add the serial numbers that contain it elsewhere."""
    text = (text or "").strip()[:100]
    if not text or not company_id or "\x00" in text or "\U0010ffff" in text:
        return []  # no serial number holds these; PostgreSQL refuses NUL in a parameter
    escaped = _like_escape(text)
    # one index range per spelling, each cut at ``limit``, and the answer picked from their few
    # rows: OR-ed in one WHERE, SQLite would walk the whole company instead. The ranges carry
    # whole rows (not ids to look up again): with ids, PostgreSQL's plan for the prepared statement
    # walked all of a large company's devices and ran the ranges once per device (80 ms instead of
    # under 1 ms for "SN0" in a register of 10,000).
    firsts = [
        select(Device).where(Device.company_id == company_id, Device.active.is_(True),
                             Device.serial_number >= variant, Device.serial_number < _after(variant))
        .order_by(Device.serial_number).limit(limit).subquery()
        for variant in dict.fromkeys((text, text.upper(), text.lower()))
    ]
    ranges = union(*(select(first) for first in firsts)).subquery()
    in_range = aliased(Device, ranges)
    found = db.session.scalars(
        select(in_range).where(_matches(in_range.serial_number, f"{escaped}%"))
        .order_by(in_range.serial_number).limit(limit)
    ).all()
    if len(found) < limit:
        # the walk reads only the index of active serial numbers (ix_device_active_serial: its
        # condition is spelled ``active = true`` here, as in the index), and the table only for the
        # few rows it keeps: 1 ms instead of 2.3 ms on PostgreSQL through 10,000 devices
        walk = select(Device.id, Device.serial_number).where(
            Device.company_id == company_id, Device.active == true(), _contains(Device.serial_number, text))
        if found:
            walk = walk.where(Device.id.not_in([d.id for d in found]))
        walk = walk.order_by(Device.serial_number).limit(limit - len(found)).subquery()
        found += db.session.scalars(
            select(Device).join(walk, Device.id == walk.c.id).order_by(walk.c.serial_number)).all()
    return found


def device_or_none(company_id: int, serial_number: str) -> Optional[Device]:
    if not company_id or not serial_number:
        return None
    return db.session.scalars(
        select(Device).where(Device.company_id == company_id, Device.serial_number == serial_number.strip())
    ).first()


def history(serial_number: str, company_id: Optional[int]) -> list[tuple[OrderItem, Order]]:
    """Every article with this serial number and its order, newest first: of one company, or of
    every company and source when ``company_id`` is None (staff)."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        return []
    stmt = (
        select(OrderItem, Order)
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.serial_number == serial_number)
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if company_id is not None:
        stmt = stmt.where(OrderItem.company_id == company_id, Order.company_id == company_id)
    return db.session.execute(stmt).all()


def repeat_days() -> int:
    return int(current_app.config.get("REPEAT_REPAIR_DAYS", 90))


def _returned_within(company_id: int, serial_numbers: list[str], since: dt.datetime,
                     exclude_order_id) -> dict[str, int]:
    """For each serial number, the latest earlier order of this company with it that was shipped
    back (or completed) at or after ``since``: one query for all of an order's articles."""
    stmt = (
        select(OrderItem.serial_number, Order.id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(StatusChange, StatusChange.order_id == Order.id)
        .join(OrderStatus, OrderStatus.id == StatusChange.to_status_id)
        .where(OrderItem.company_id == company_id, OrderItem.serial_number.in_(serial_numbers),
               Order.company_id == company_id, StatusChange.changed_at >= since,
               or_(OrderStatus.code == current_app.config.get("REPEAT_REPAIR_STATUS", "shipped_back"),
                   OrderStatus.is_final.is_(True)))
        .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
    )
    if exclude_order_id is not None:
        stmt = stmt.where(Order.id != exclude_order_id)
    latest: dict[str, int] = {}
    for serial, order_id in db.session.execute(stmt):
        latest.setdefault(serial, order_id)
    return latest


def mark_articles(order: Order, now: Optional[dt.datetime] = None) -> None:
    """Give the articles of a new company order their warranty as the register has it today, and
    flag those whose serial number came back within ``REPEAT_REPAIR_DAYS`` of being shipped back."""
    if not order.company_id:
        return
    now = now or utcnow()
    since = now - dt.timedelta(days=repeat_days())
    with db.session.no_autoflush:  # the new order is not complete yet
        _mark(order, now, since)


def _mark(order: Order, now: dt.datetime, since: dt.datetime) -> None:
    items = [(item, (item.serial_number or "").strip()) for item in order.items]
    serials = sorted({serial for _, serial in items if serial})
    if not serials:
        return
    devices = {device.serial_number: device for device in db.session.scalars(
        select(Device).where(Device.company_id == order.company_id, Device.serial_number.in_(serials)))}
    repeats = _returned_within(order.company_id, serials, since, order.id)
    for item, serial in items:
        if not serial:
            continue
        device = devices.get(serial)
        if device is not None:
            item.warranty_until = device.warranty_until
            item.in_warranty = device.warranty_state(now.date())
        item.repeat_of_order_id = repeats.get(serial)


# -- the register's rules: add, change, retire, import ---------------------------------------
# (field, maximum length); serial number and description are required
LENGTHS = {"serial_number": 100, "article_number": 100, "description": 200, "location": 100, "note": 2000}
TEXT_FIELDS = tuple(LENGTHS)
DATE_FIELDS = ("delivered_on", "warranty_until")
FIELDS = ("serial_number", "article_number", "description", "delivered_on", "warranty_until", "location", "note")


class DeviceInvalid(ValueError):
    """Values a device cannot have: ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def check_values(company_id: int, values: dict, exclude_id: Optional[int] = None,
                 check_register: bool = True, for_staff: bool = False) -> tuple[dict, dict[str, str]]:
    """The values cleaned (text stripped, empty -> None, dates parsed) and the errors per field.

    Dates may come as ``date`` or as text in German or ISO form. ``for_staff``: the messages speak
    of the company's register, not the reader's own.
    """
    from app.services.sheets import parse_date

    clean: dict = {}
    errors: dict[str, str] = {}
    for name in TEXT_FIELDS:
        text = (values.get(name) or "")
        text = str(text).strip()
        if len(text) > LENGTHS[name]:
            errors[name] = _("At most %(max)s characters.", max=LENGTHS[name])
        clean[name] = text or None
    for name in ("serial_number", "description"):
        if not clean[name] and name not in errors:
            errors[name] = _("Please fill in this field.")
    for name in DATE_FIELDS:
        try:
            clean[name] = parse_date(values.get(name))
        except ValueError as bad:
            clean[name] = None
            errors[name] = str(bad)
    if clean["delivered_on"] and clean["warranty_until"] and clean["warranty_until"] < clean["delivered_on"]:
        errors.setdefault("warranty_until", _("The warranty cannot end before the delivery date."))
    if check_register and clean["serial_number"] and "serial_number" not in errors:
        existing = device_or_none(company_id, clean["serial_number"])
        if existing is not None and existing.id != exclude_id:
            errors["serial_number"] = (_("This serial number is already in this company's register.") if for_staff
                                       else _("This serial number is already in your register."))
    return clean, errors


def _snapshot(device: Device) -> dict:
    return {name: getattr(device, name) for name in FIELDS}


def create(company_id: int, values: dict, actor) -> Device:
    """A new device in the company's register (added to the session, not committed).

    :raises DeviceInvalid: with a message per field.
    """
    clean, errors = check_values(company_id, values)
    if errors:
        raise DeviceInvalid(errors)
    device = Device(company_id=company_id, active=True, **clean)
    db.session.add(device)
    db.session.flush()
    audit.record(audit.DEVICE_CREATED, device, actor=actor, company_id=company_id, new=_snapshot(device))
    return device


def update(device: Device, values: dict, actor) -> Device:
    """Change a device's data (its company never changes).

    :raises DeviceInvalid: with a message per field.
    """
    clean, errors = check_values(device.company_id, values, exclude_id=device.id)
    if errors:
        raise DeviceInvalid(errors)
    old = _snapshot(device)
    for name, value in clean.items():
        setattr(device, name, value)
    new = _snapshot(device)
    changed = [name for name in FIELDS if old[name] != new[name]]
    if changed:
        audit.record(audit.DEVICE_UPDATED, device, actor=actor, company_id=device.company_id,
                     old={n: old[n] for n in changed}, new={n: new[n] for n in changed})
    return device


def set_active(device: Device, active: bool, actor) -> None:
    """Retire a device (it stays in the register and its history) or take it back into use."""
    if device.active == active:
        return
    device.active = active
    audit.record(audit.DEVICE_REACTIVATED if active else audit.DEVICE_RETIRED, device, actor=actor,
                 company_id=device.company_id, old={"active": not active}, new={"active": active})


def check_import(company_id: int, rows) -> tuple[list[dict], list[tuple[int, str, str]]]:
    """Rows of an uploaded table (:class:`app.services.sheets.Row`) cleaned, and every error as
    (row, field, message): bad or missing values, a serial number twice in the file or already
    in the register."""
    cleaned: list[dict] = []
    errors: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    serials = [(row.get("serial_number") or "").strip() for row in rows]
    existing = _existing_serials(company_id, [s for s in serials if s])
    for row, serial in zip(rows, serials):
        clean, row_errors = check_values(company_id, row, check_register=False)
        if serial and "serial_number" not in row_errors:
            if serial in seen:
                row_errors["serial_number"] = _("This serial number is also in row %(row)s.", row=seen[serial])
            elif serial in existing:
                row_errors["serial_number"] = _("This serial number is already in your register.")
            seen.setdefault(serial, row.number)
        for name in FIELDS:
            if name in row_errors:
                errors.append((row.number, name, row_errors[name]))
        cleaned.append({"row": row.number, **{n: (v.isoformat() if isinstance(v, dt.date) else v)
                                               for n, v in clean.items()}})
    return cleaned, errors


def _existing_serials(company_id: int, serials: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(serials), 500):  # bound the IN list
        chunk = serials[start:start + 500]
        found.update(db.session.scalars(
            select(Device.serial_number).where(Device.company_id == company_id, Device.serial_number.in_(chunk))))
    return found


def import_rows(company_id: int, rows: list[dict], actor) -> int:
    """Add every row of a checked import to the register, all or none (the caller commits).

    :raises DeviceInvalid: when a row is no longer valid (e.g. its serial number was added since the preview).
    """
    for values in rows:
        clean, errors = check_values(company_id, values)
        if errors:
            raise DeviceInvalid({f"{values.get('row')}:{name}": message for name, message in errors.items()})
        db.session.add(Device(company_id=company_id, active=True, **clean))
        db.session.flush()  # a serial number twice in the rows is found by the next check
    audit.record(audit.DEVICE_IMPORTED, DeviceRegister(company_id), actor=actor, company_id=company_id,
                 new={"devices": len(rows)})
    return len(rows)


class DeviceRegister:
    """What the audit log records as the object of an import: the company's register."""

    def __init__(self, company_id: int):
        self.id = company_id

    def __str__(self) -> str:
        return "Device register"


def company_devices(company_id: int, text: str = "", active: Optional[bool] = None):
    """The company's register as a query: searched in serial number, article number and description."""
    stmt = select(Device).where(Device.company_id == company_id)
    text = (text or "").strip()[:100]
    if text:
        like = f"%{_like_escape(text)}%"
        stmt = stmt.where(or_(Device.serial_number.ilike(like, escape="\\"),
                              Device.article_number.ilike(like, escape="\\"),
                              Device.description.ilike(like, escape="\\")))
    if active is not None:
        stmt = stmt.where(Device.active.is_(active))
    return stmt.order_by(Device.serial_number, Device.id)


def device_by_id(company_id: int, pk: int) -> Optional[Device]:
    """The company's device ``pk``; another company's is None, as one that does not exist."""
    return db.session.scalars(select(Device).where(Device.id == pk, Device.company_id == company_id)).first()
def register_entries(serial_number: str, company_id: Optional[int]) -> list[Device]:
    """The register's devices with this serial number: the company's one (at most one), or every
    company's when ``company_id`` is None (staff)."""
    serial_number = (serial_number or "").strip()
    if not serial_number:
        return []
    stmt = select(Device).where(Device.serial_number == serial_number).order_by(Device.company_id).limit(50)
    if company_id is not None:
        stmt = stmt.where(Device.company_id == company_id)
    return db.session.scalars(stmt).all()


def warranty_words(until: Optional[dt.date], on: Optional[dt.date] = None) -> str:
    """The warranty state in words: in warranty until …, expired since …, unknown."""
    from flask_babel import format_date, gettext as _

    if until is None:
        return _("Warranty unknown")
    if until >= (on or utcnow().date()):
        return _("In warranty until %(date)s", date=format_date(until, "medium"))
    return _("Expired since %(date)s", date=format_date(until, "medium"))
