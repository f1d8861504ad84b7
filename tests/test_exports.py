"""CSV exports for Excel: text that looks like a formula never runs as one (OWASP "CSV injection")."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.export import cell
from tests.test_api import API, auth, create_key
from tests.test_public_orders import order_form, send

FORMULAS = ['=HYPERLINK("http://evil.example","Klick")', "+SUM(1+1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(value):
    assert cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Größe 1", "RMA-2026-000001", "a=b", "", " =1", 42, -5, 0.5])
def test_other_cells_stay_as_they_are(value):
    assert cell(value) == value
    assert cell(None) == ""


def rows_of(response, delimiter=";") -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    raw = response.get_data(as_text=True)
    assert raw.startswith("\ufeff")
    return list(csv.reader(io.StringIO(raw[1:]), delimiter=delimiter))


def no_formula_cells(rows) -> bool:
    return not any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for row in rows for c in row)


def test_formulas_typed_into_the_public_form_reach_the_staff_export_as_text(app, client, staff_client):
    data = order_form(customer_name='=HYPERLINK("http://evil.example","Rechnung")',
                      contact_person="@SUM(1+1)")
    data["items-0-description"] = "+cmd|' /C calc'!A0"
    response = send(client, data)
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    order = db.session.scalars(select(Order)).one()
    rows = rows_of(staff_client.get("/backend/orders/export.csv"))
    row = next(r for r in rows if r[0] == order.rma_number)
    assert row[4] == "'" + '=HYPERLINK("http://evil.example","Rechnung")'
    assert no_formula_cells(rows)


def test_formulas_in_portal_orders_reach_both_exports_as_text(app, customer_client, customer_a, staff_client,
                                                               company_admin_client):
    from tests.helpers import new_order_data

    customer_a.first_name = "=1+2"
    db.session.commit()
    response = customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                                    data=new_order_data("-2+3", [dict(description="@Pumpe", quantity="1",
                                                                      fault_description="=A1")]))
    assert response.status_code == 302
    order = db.session.scalars(select(Order)).one()
    portal = rows_of(company_admin_client.get("/cc/orders/export.csv"))
    row = next(r for r in portal if r[0] == order.rma_number)
    assert row[1] == "'-2+3"  # reference
    assert row[3].startswith("'=1+2")  # created by
    assert no_formula_cells(portal)
    staff = rows_of(staff_client.get("/backend/orders/export.csv"))
    assert next(r for r in staff if r[0] == order.rma_number)[1] == "'-2+3"
    assert no_formula_cells(staff)


def test_formulas_sent_through_the_api_reach_the_export_as_text(app, client, company_admin_a,
                                                                 company_admin_client):
    key = create_key(app, company_admin_a)
    response = client.post(API + "/", headers=auth(key), json={
        "reference": "@SUM(A1:A9)", "items": [{"description": "=1+1", "fault_description": "-x", "quantity": 1}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    rows = rows_of(company_admin_client.get("/cc/orders/export.csv"))
    assert [r[1] for r in rows[1:]] == ["'@SUM(A1:A9)"]
    assert no_formula_cells(rows)


def test_export_dates_have_four_digit_years(app, customer_a, company_admin_client):
    from tests.factories import make_order

    order = make_order(customer_a.company, customer_a, reference="PO-DATE")
    rows = rows_of(company_admin_client.get("/cc/orders/export.csv"))
    date = rows[1][2]
    local = order.created_at  # stored as UTC; shown in Europe/Berlin
    assert date.startswith(f"{local:%Y}-") and len(date) == len("2026-12-01 14:43"), date
