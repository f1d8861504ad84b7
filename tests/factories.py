"""Factories for the tests: companies, users per role, orders."""
from __future__ import annotations

import itertools

from app.extensions import db
from app.models import Company, Order, OrderItem
from app.security import roles
from app.services.accounts import create_user
from app.services.orders import create_portal_order, prepare_new_order

PASSWORD = "Test-Password-1234"
_seq = itertools.count(1)


def make_company(name: str | None = None, **kw) -> Company:
    n = next(_seq)
    company = Company(
        customer_number=kw.pop("customer_number", f"T-{n:05d}"),
        name=name or f"Company {n}",
        street=kw.pop("street", f"Street {n}"),
        postcode=kw.pop("postcode", "12345"),
        city=kw.pop("city", "Berlin"),
        country=kw.pop("country", "Deutschland"),
        email=kw.pop("email", f"info{n}@company{n}.example"),
        phone=kw.pop("phone", "+49 30 1234"),
        active=kw.pop("active", True),
        **kw,
    )
    db.session.add(company)
    db.session.commit()
    return company


def make_user(company: Company | None = None, role: str = roles.CUSTOMER, email: str | None = None,
              password: str = PASSWORD, **kw):
    n = next(_seq)
    user, _ = create_user(
        email=email or f"user{n}@example.org",
        first_name=kw.pop("first_name", f"First{n}"),
        last_name=kw.pop("last_name", f"Last{n}"),
        role_name=role,
        company=company,
        password=password,
        **kw,
    )
    db.session.commit()
    return user


def make_order(company: Company | None = None, user=None, items: int = 1, reference: str | None = None,
               **kw) -> Order:
    n = next(_seq)
    rows = [dict(article_number=f"A-{n}-{i}", description=f"Device {n}-{i}", serial_number=f"SN-{n}-{i}",
                 quantity=1, fault_description="broken") for i in range(items)]
    if company is not None:
        order = create_portal_order(company, user, reference=reference or f"REF-{n}", items=rows)
    else:
        order = Order(source=kw.pop("source", "backend"), reference=reference or f"REF-{n}",
                      customer_name=kw.pop("customer_name", f"Walk-in {n}"), **kw)
        for row in rows:
            order.items.append(OrderItem(**row))
        prepare_new_order(order, user)
        db.session.add(order)
    db.session.commit()
    return order


def make_sent_quote(order: Order, staff=None, lines=None, valid_days: int = 14, vat_rate: str = "19",
                    note: str | None = "Inkl. Versand"):
    """A quote sent to the order's company, as staff send one (committed)."""
    import datetime as dt
    from decimal import Decimal

    from app.models import utcnow
    from app.services import quotes

    rows = lines or [dict(text="Display tauschen", quantity="1", unit_price="120.00",
                          item_id=order.items[0].id if order.items else None),
                     dict(text="Arbeitszeit", quantity="1.5", unit_price="80.00")]
    quote = quotes.save_draft(order, staff, lines=rows, vat_rate=Decimal(vat_rate),
                              valid_until=utcnow().date() + dt.timedelta(days=valid_days), note=note)
    quotes.send(quote, staff)
    db.session.commit()
    return quote
