"""Turnaround promises: working days, due dates on the portal, overdue, the staff filters and counts."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import QUOTE_SENT, Order, Quote, utcnow
from app.services import turnaround
from tests.factories import make_order
from tests.helpers import new_order_data, text

FRIDAY = dt.date(2026, 11, 27)


def test_working_days_skip_weekends():
    assert FRIDAY.weekday() == 4
    assert turnaround.add_working_days(FRIDAY, 1) == dt.date(2026, 11, 30)  # Monday
    assert turnaround.add_working_days(FRIDAY, 0) == FRIDAY
    assert turnaround.add_working_days(FRIDAY, 5) == dt.date(2026, 12, 4)
    assert turnaround.add_working_days(FRIDAY, 10) == dt.date(2026, 12, 11)
    saturday, sunday = FRIDAY + dt.timedelta(days=1), FRIDAY + dt.timedelta(days=2)
    assert turnaround.add_working_days(saturday, 1) == dt.date(2026, 11, 30)
    assert turnaround.add_working_days(saturday, 5) == dt.date(2026, 12, 4)  # not the next Saturday
    assert turnaround.add_working_days(sunday, 10) == dt.date(2026, 12, 11)
    assert turnaround.working_days_between(FRIDAY, FRIDAY + dt.timedelta(days=3)) == 1  # Sat, Sun, Mon
    assert turnaround.working_days_between(FRIDAY, FRIDAY + dt.timedelta(days=7)) == 5
    assert turnaround.working_days_between(FRIDAY, FRIDAY) == 0


def test_new_portal_order_shows_its_due_date(app, customer_client, customer_a):
    response = customer_client.post("/cc/orders/new", data=new_order_data("DUE-1"))
    assert response.status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "DUE-1")).one()
    expected = turnaround.add_working_days(order.created_at.date(), 10)
    assert order.due_date == expected
    german = f"{expected:%d.%m.%Y}"
    visible = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert f"Fällig am {german}" in visible and "Überfällig" not in visible
    listing = text(customer_client.get("/cc/orders/"))
    assert "Fällig am" in listing and german in listing and "Überfällig" not in listing


def test_overdue_is_said_in_words_and_completed_orders_have_no_due_date(app, customer_client, customer_a,
                                                                       company_a):
    late = make_order(company_a, customer_a, reference="LATE")
    done = make_order(company_a, customer_a, reference="DONE")
    late.due_date = done.due_date = utcnow().date() - dt.timedelta(days=1)
    done.completed_at = utcnow()
    db.session.commit()
    page = text(customer_client.get(f"/cc/orders/{late.id}"))
    assert "Überfällig" in page
    page = text(customer_client.get(f"/cc/orders/{done.id}"))
    assert "Fällig am" not in page and "Überfällig" not in page
    listing = customer_client.get("/cc/orders/").get_data(as_text=True)
    rows = {row.split("</tr>")[0].count("Überfällig"): row for row in listing.split('<tr class="order-row">')[1:]}
    assert [late.rma_number in r for c, r in rows.items() if c] == [True]


def test_a_waiting_quote_pauses_the_due_date(app, customer_client, customer_a, company_a):
    order = make_order(company_a, customer_a)
    order.due_date = utcnow().date() - dt.timedelta(days=1)
    db.session.add(Quote(order_id=order.id, company_id=company_a.id, version=1, state=QUOTE_SENT,
                         valid_until=utcnow().date() + dt.timedelta(days=14), sent_at=utcnow()))
    db.session.commit()
    for url in (f"/cc/orders/{order.id}", "/cc/orders/"):
        visible = text(customer_client.get(url))
        assert "pausiert, solange der Kostenvoranschlag auf Ihre Entscheidung wartet" in visible
        assert "Überfällig" not in visible


def _open_orders_due(company, user, today):
    """One order per due date from 3 days ago to 4 days ahead, and a completed overdue one."""
    orders = {}
    for offset in range(-3, 5):
        order = make_order(company, user, reference=f"D{offset:+d}")
        order.due_date = today + dt.timedelta(days=offset)
        orders[offset] = order
    done = make_order(company, user, reference="DONE")
    done.due_date = today - dt.timedelta(days=5)
    done.completed_at = utcnow()
    db.session.commit()
    return orders, done


def _listed(response) -> set[str]:
    html = response.get_data(as_text=True)
    return {ref for ref in ("D-3", "D-2", "D-1", "D+0", "D+1", "D+2", "D+3", "D+4", "DONE")
            if f">{ref}<" in html}


def test_backend_filters_list_exactly_the_overdue_and_due_soon_orders(app, staff_client, company_a, customer_a):
    _open_orders_due(company_a, customer_a, utcnow().date())
    overdue = staff_client.get("/backend/orders/list/?_flt_0_due_date=overdue")
    assert overdue.status_code == 200 and _listed(overdue) == {"D-3", "D-2", "D-1"}
    soon = staff_client.get("/backend/orders/list/?_flt_0_due_date=due_soon")
    assert _listed(soon) == {"D+0", "D+1", "D+2"}
    everything = staff_client.get("/backend/orders/list/")
    assert len(_listed(everything)) == 9
    assert "Fällig am" in text(everything)
    # the search form's choices (FAB writes them into a script, JSON-escaped)
    assert "F\\u00e4llig in den n\\u00e4chsten 2 Tagen" in everything.get_data(as_text=True)


def test_dashboard_counts_link_to_the_filtered_lists(app, staff_client, company_a, customer_a):
    _open_orders_due(company_a, customer_a, utcnow().date())
    html = staff_client.get("/backend/dashboard/").get_data(as_text=True)
    visible = text(staff_client.get("/backend/dashboard/"))
    assert "Überfällig 3" in visible and "Fällig in den nächsten 2 Tagen 3" in visible
    assert 'href="/backend/orders/list/?_flt_0_due_date=overdue"' in html
    assert 'href="/backend/orders/list/?_flt_0_due_date=due_soon"' in html
