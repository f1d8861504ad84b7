"""Seed data: the repair workflow's statuses and the demo data."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import SOURCE_BACKEND, SOURCE_FRONTEND, Company, Order, OrderItem, OrderStatus
from app.security import roles

# code, German label, English label, initial, final
STATUSES = [
    ("received", "Eingegangen", "Received", True, False),
    ("in_review", "In Prüfung", "In review", False, False),
    ("estimate_sent", "Kostenvoranschlag versendet", "Cost estimate sent", False, False),
    ("quote_rejected", "Kostenvoranschlag abgelehnt", "Quote rejected", False, False),
    ("in_repair", "In Reparatur", "In repair", False, False),
    ("shipped_back", "Zurückgesendet", "Shipped back", False, False),
    ("closed", "Abgeschlossen", "Closed", False, True),
    ("rejected", "Abgelehnt", "Rejected", False, True),
]


def seed_statuses() -> int:
    """Insert the default workflow when the status table is empty. Returns rows added."""
    if db.session.scalar(select(func.count()).select_from(OrderStatus)):
        return 0
    for position, (code, de, en, initial, final) in enumerate(STATUSES, start=1):
        db.session.add(
            OrderStatus(code=code, label_de=de, label_en=en, position=position * 10,
                        is_initial=initial, is_final=final)
        )
    db.session.commit()
    return len(STATUSES)


DEMO_PASSWORD_STAFF = "Staff-Demo-2026"
DEMO_PASSWORD = "Portal-Demo-2026"

DEMO_COMPANIES = [
    dict(name="Müller Medizintechnik GmbH", street="Hauptstraße 12",
         postcode="80331", city="München", country="Deutschland", phone="+49 89 123456",
         email="service@mueller-medtech.example", vat_id="DE123456789",
         admin=("anna.mueller@mueller-medtech.example", "Anna", "Müller", "de"),
         employee=("jonas.weber@mueller-medtech.example", "Jonas", "Weber", "de")),
    dict(name="Northwind Instruments Ltd", street="12 Harbour Road",
         postcode="BS1 4DJ", city="Bristol", country="United Kingdom", phone="+44 117 496 0000",
         email="repairs@northwind.example", vat_id="GB987654321",
         admin=("emma.clark@northwind.example", "Emma", "Clark", "en"),
         employee=("oliver.hughes@northwind.example", "Oliver", "Hughes", "en")),
]


def _demo_quote(order: Order, staff, english: bool) -> None:
    from decimal import Decimal

    from app.services import quotes

    lines = [
        dict(text="Replace display unit" if english else "Displayeinheit tauschen", quantity="1",
             unit_price="189.00", item_id=order.items[0].id),
        dict(text="Labour (hours)" if english else "Arbeitszeit (Stunden)", quantity="1.5", unit_price="78.00"),
        dict(text="Calibration and test report" if english else "Kalibrierung und Prüfprotokoll", quantity="1",
             unit_price="45.00"),
    ]
    quote = quotes.save_draft(order, staff, lines=lines, vat_rate=Decimal("19"),
                              valid_until=quotes.default_valid_until(), note=None)
    quotes.send(quote, staff)


def load_demo_data() -> list[tuple[str, str, str]] | None:
    """Demo data for a database without companies; returns the demo logins, or None."""
    from app.services.accounts import create_user, next_customer_number
    from app.services.orders import change_status, create_portal_order, prepare_new_order

    if db.session.scalar(select(func.count()).select_from(Company)):
        return None
    logins = []
    staff, _ = create_user(email="staff@portal.example", first_name="Sabine", last_name="Service",
                           role_name=roles.STAFF, password=DEMO_PASSWORD_STAFF)
    logins.append((roles.STAFF, staff.email, DEMO_PASSWORD_STAFF))
    statuses = {s.code: s for s in db.session.scalars(select(OrderStatus))}
    for n, data in enumerate(DEMO_COMPANIES):
        data = dict(data)
        admin, employee = data.pop("admin"), data.pop("employee")
        company = Company(active=True, customer_number=next_customer_number(), **data)
        db.session.add(company)
        db.session.flush()
        users = []
        for (email, first, last, lang), role in ((admin, roles.COMPANY_ADMIN), (employee, roles.CUSTOMER)):
            user, _ = create_user(email=email, first_name=first, last_name=last, role_name=role,
                                  company=company, language=lang, password=DEMO_PASSWORD)
            users.append(user)
            logins.append((f"{role} · {company.name}", email, DEMO_PASSWORD))
        walk = [[], ["in_review"], ["in_review", "estimate_sent"], ["in_review", "in_repair", "shipped_back"],
                ["in_review", "rejected"]]
        for i, steps in enumerate(walk):
            order = create_portal_order(
                company, users[i % 2], reference=f"PO-{2026 + n}-{100 + i}",
                items=[dict(article_number=f"A-{4711 + i}", description=("Messgerät" if n == 0 else "Flow meter"),
                            serial_number=f"SN{n}{i:04d}", quantity=1 + i % 3,
                            fault_description="Display bleibt dunkel" if n == 0 else "No reading after power-up")],
            )
            for code in steps:
                if code == "estimate_sent":  # a quote waiting for the company's decision
                    _demo_quote(order, staff, english=n == 1)
                else:
                    change_status(order, statuses[code], staff, note=None)
    for source, name in ((SOURCE_FRONTEND, "Praxis Dr. Schmidt"), (SOURCE_BACKEND, "Stadtwerke Ulm")):
        order = Order(source=source, reference="", customer_name=name, contact_person="Petra Schmidt",
                      street="Lindenweg 3", postcode="89073", city="Ulm", country="Deutschland",
                      email="info@example.org", phone="+49 731 000000")
        order.items.append(OrderItem(description="Pumpe", serial_number="P-778", quantity=1))
        prepare_new_order(order, staff if source == SOURCE_BACKEND else None)
        db.session.add(order)
    db.session.commit()
    return logins
