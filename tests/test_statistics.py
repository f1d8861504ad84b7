"""The key account's figures (Statistik): known orders give known figures, other companies' orders
change nothing, the page speaks the reader's language, the CSV holds no formulas."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import QUOTE_ACCEPTED, QUOTE_REJECTED, QUOTE_SENT, Order, Quote, utcnow
from app.services import statistics, turnaround
from app.services.orders import create_portal_order
from tests.conftest import _client_for
from tests.helpers import text


def _monday_weeks_ago(weeks: int) -> dt.datetime:
    today = utcnow().date()
    monday = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks)
    return dt.datetime.combine(monday, dt.time(9, 0))


def _order(company, user, articles, created, completed=None, due=None, waiting=0):
    order = create_portal_order(company, user, "REF", [
        dict(article_number=number, description=description, quantity=quantity)
        for number, description, quantity in articles])
    order.created_at = created
    order.completed_at = completed
    order.due_date = due if due is not None else turnaround.add_working_days(created.date(), 10)
    order.waiting_days = waiting
    db.session.commit()
    return order


def _quote(order, state, sent_at, decided_at=None, auto_limit=None, version=1):
    quote = Quote(order_id=order.id, company_id=order.company_id, version=version, state=state,
                  valid_until=sent_at.date() + dt.timedelta(days=14), sent_at=sent_at, decided_at=decided_at,
                  auto_approved_limit=auto_limit)
    db.session.add(quote)
    db.session.commit()
    return quote


@pytest.fixture
def known_figures(app, company_a, customer_a, company_b, customer_b):
    """Company A: two completed orders (5 and 8 working days, one on time), one open order,
    three decided quotes (one approved automatically); company B: orders that must not count."""
    base = _monday_weeks_ago(6)
    on_time = _order(company_a, customer_a, [("=HYPERLINK(\"x\")", "Pumpe P-1", 3), ("M-2", "Messgerät", 1)],
                     base, completed=base + dt.timedelta(days=7))  # Monday to Monday: 5 working days
    late = _order(company_a, customer_a, [("M-2", "Messgerät", 2)], base,
                  completed=base + dt.timedelta(days=14), due=(base + dt.timedelta(days=7)).date(), waiting=2)
    still_open = _order(company_a, customer_a, [("-SUM(1)", "+Ventil", 1)], base + dt.timedelta(days=2))
    sent = base + dt.timedelta(days=1)
    _quote(on_time, QUOTE_ACCEPTED, sent, sent + dt.timedelta(hours=36))
    _quote(late, QUOTE_REJECTED, sent, sent + dt.timedelta(hours=12))
    _quote(still_open, QUOTE_ACCEPTED, sent, sent, auto_limit=Decimal("500"))
    _quote(still_open, QUOTE_SENT, sent, version=2)  # waiting: not decided
    return {"orders": [on_time, late, still_open]}


def _add_company_b_orders(company_b, customer_b):
    base = _monday_weeks_ago(3)
    for n in range(5):
        order = _order(company_b, customer_b, [("B-ONLY", "B-Gerät", 50)], base,
                       completed=base + dt.timedelta(days=28), due=base.date())
        _quote(order, QUOTE_REJECTED, base, base + dt.timedelta(days=9))


def test_turnaround_in_sql_is_the_same_as_in_python(app, company_a, customer_a):
    """The SQL working-day arithmetic agrees with turnaround.turnaround_of, weekends included."""
    rng = random.Random(14)
    orders = []
    for _ in range(60):
        created = dt.datetime(2026, 1, 1, 8) + dt.timedelta(days=rng.randrange(120), hours=rng.randrange(12))
        completed = created + dt.timedelta(days=rng.randrange(-2, 40), hours=rng.randrange(10))
        orders.append(_order(company_a, customer_a, [("X", "Y", 1)], created, completed=completed,
                             waiting=rng.randrange(4)))
    expr = statistics.turnaround_sql(Order.created_at, Order.completed_at, Order.waiting_days)
    in_sql = dict(db.session.execute(select(Order.id, expr).where(Order.company_id == company_a.id)).all())
    assert {o.id: turnaround.turnaround_of(o) for o in orders} == in_sql


def test_known_figures(app, known_figures, company_a, company_b, customer_b):
    figures = statistics.company_figures(company_a.id)
    assert figures.orders == 3 and sum(n for _, n in figures.per_month) == 3 and len(figures.per_month) == 12
    assert figures.completed == 2
    assert figures.turnaround == pytest.approx(6.5)  # (5 + (10 - 2)) / 2
    assert (figures.on_time, figures.with_due_date) == (1, 2)
    assert (figures.quotes_accepted, figures.quotes_decided) == (2, 3)  # the automatic approval counts
    assert figures.decision_hours == pytest.approx(24)  # (36 + 12) / 2: without the automatic one
    assert figures.top_articles[:2] == [("=HYPERLINK(\"x\")", "Pumpe P-1", 3), ("M-2", "Messgerät", 3)]
    assert len(figures.top_articles) == 3

    _add_company_b_orders(company_b, customer_b)
    again = statistics.company_figures(company_a.id)
    assert again == figures  # another company's orders change nothing
    b = statistics.company_figures(company_b.id)
    assert b.orders == 5 and b.top_articles == [("B-ONLY", "B-Gerät", 250)] and b.on_time == 0


def test_old_orders_are_outside_the_twelve_months(app, company_a, customer_a):
    old = dt.datetime.combine(statistics.window_start(utcnow().date()), dt.time()) - dt.timedelta(days=1)
    _order(company_a, customer_a, [("OLD", "Alt", 1)], old, completed=old + dt.timedelta(hours=2))
    figures = statistics.company_figures(company_a.id)
    assert (figures.orders, figures.completed, figures.top_articles) == (0, 0, [])
    assert figures.turnaround is None and figures.on_time_share is None and figures.decision_hours is None


def test_window_start_is_the_first_of_the_month_eleven_months_back():
    assert statistics.window_start(dt.date(2026, 12, 1)) == dt.date(2026, 1, 1)
    assert statistics.window_start(dt.date(2026, 3, 31)) == dt.date(2025, 4, 1)


def test_page_in_german_with_german_numbers(app, known_figures, company_admin_client):
    page = company_admin_client.get("/cc/statistics/")
    assert page.status_code == 200
    visible = text(page)
    assert "Statistik" in visible
    assert "6,5 Arbeitstage" in visible
    assert "50 %" in visible and "1 von 2" in visible
    assert "2 (66,7 %)" in visible and "von 3 entschiedenen Kostenvoranschlägen" in visible
    assert "24 Stunden" in visible
    assert "M-2 Messgerät 3" in visible
    html = page.get_data(as_text=True)
    assert 'role="img"' in html and html.count('class="bar"') == 12


def test_page_in_english(app, known_figures, company_admin_a, company_admin_client):
    company_admin_a.language = "en"
    db.session.commit()
    visible = text(company_admin_client.get("/cc/statistics/"))
    assert "6.5 working days" in visible and "50%" in visible and "66.7%" in visible and "24 hours" in visible


def test_company_b_admin_sees_only_b(app, known_figures, company_b, customer_b, company_admin_b):
    _add_company_b_orders(company_b, customer_b)
    client = _client_for(app, company_admin_b)
    visible = text(client.get("/cc/statistics/"))
    assert company_b.name in visible and "B-ONLY" in visible
    assert "Messgerät" not in visible and "Pumpe" not in visible
    body = client.get("/cc/statistics/csv").get_data(as_text=True)
    assert "B-ONLY" in body and "Messgerät" not in body
    # the staff address for company A is not theirs
    for url in (f"/backend/companies/{known_figures['orders'][0].company_id}/statistics",
                f"/backend/companies/{known_figures['orders'][0].company_id}/statistics/csv"):
        response = client.get(url)
        assert response.status_code == 403 and "Messgerät" not in response.get_data(as_text=True)


def test_employee_without_admin_role_gets_403(app, known_figures, customer_client):
    for url in ("/cc/statistics/", "/cc/statistics/csv"):
        response = customer_client.get(url)
        assert response.status_code == 403 and "Messgerät" not in response.get_data(as_text=True)
    assert "/cc/statistics/" not in customer_client.get("/cc/orders/").get_data(as_text=True)


def test_menu_entry_for_company_admins(app, company_admin_client):
    html = company_admin_client.get("/cc/orders/").get_data(as_text=True)
    assert 'href="/cc/statistics/"' in html and "Statistik" in text(company_admin_client.get("/cc/orders/"))


def test_csv_neutralises_formulas_and_uses_german_numbers(app, known_figures, company_admin_client):
    response = company_admin_client.get("/cc/statistics/csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    cells = [c for row in rows for c in row]
    assert "'=HYPERLINK(\"x\")" in cells and "'-SUM(1)" in cells and "'+Ventil" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))]
    values = {row[0]: row[1] for row in rows if len(row) >= 2}
    assert values["Durchschnittliche Durchlaufzeit (Arbeitstage)"] == "6,5"
    assert values["Pünktlich abgeschlossen (%)"] == "50,0"
    assert values["Angenommene Kostenvoranschläge"] == "2"
    assert values["Durchschnittliche Entscheidungszeit (Stunden)"] == "24,0"


def test_staff_see_any_company_from_its_page(app, known_figures, staff_client, company_a):
    show = staff_client.get(f"/backend/companies/show/{company_a.id}").get_data(as_text=True)
    assert f'href="/backend/companies/{company_a.id}/statistics"' in show
    visible = text(staff_client.get(f"/backend/companies/{company_a.id}/statistics"))
    assert company_a.name in visible and "6,5 Arbeitstage" in visible and "Messgerät" in visible
    response = staff_client.get(f"/backend/companies/{company_a.id}/statistics/csv")
    assert response.status_code == 200 and "Messgerät" in response.get_data(as_text=True)
    assert staff_client.get("/backend/companies/999999/statistics").status_code == 404
