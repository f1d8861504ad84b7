"""The service history of a serial number: the company's own orders in the portal, every order for
staff; the register's device data on top; serial numbers on the order pages link to it."""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import unquote

from sqlalchemy import select

from app.extensions import db
from app.models import Device, OrderStatus, utcnow
from app.services.orders import change_status, create_portal_order
from tests.conftest import _client_for
from tests.factories import make_order
from tests.helpers import text

SERIAL = "SN/2024-0815"  # a "/" in a serial number: the query argument keeps it


def _order(company, user, serial, fault="Display dark", reference="REF"):
    order = create_portal_order(company, user, reference, [
        dict(article_number="ART-1", description="Scanner", serial_number=serial, quantity=2,
             fault_description=fault)])
    db.session.commit()
    return order


def _device(company, serial=SERIAL, warranty_until=None, **kw):
    device = Device(company_id=company.id, serial_number=serial, description=kw.pop("description", "Scanner X"),
                    warranty_until=warranty_until, **kw)
    db.session.add(device)
    db.session.commit()
    return device


def _history_rows(body: str) -> list[str]:
    return [text_row for text_row in body.split('class="history-order"')[1:]]


def test_portal_history_lists_own_orders_newest_first_with_register_data(
        app, customer_client, company_a, customer_a, company_b, customer_b):
    first = _order(company_a, customer_a, SERIAL, fault="First fault", reference="A-1")
    second = _order(company_a, customer_a, SERIAL, fault="Second fault", reference="A-2")
    other = _order(company_b, customer_b, SERIAL, fault="B-SECRET-FAULT", reference="B-1")
    _device(company_a, warranty_until=utcnow().date() + dt.timedelta(days=30), location="Hall 3")
    _device(company_b, description="B-SECRET-DEVICE")
    response = customer_client.get("/cc/devices/history", query_string={"serial": SERIAL})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    page = text(response)
    assert "Gerätehistorie" in page and SERIAL in page
    rows = _history_rows(body)
    assert len(rows) == 2
    assert second.rma_number in rows[0] and "Second fault" in rows[0]
    assert first.rma_number in rows[1] and "First fault" in rows[1]
    assert f'/cc/orders/{first.id}"' in body
    assert other.rma_number not in body and "B-SECRET" not in body
    assert "Scanner X" in page and "Hall 3" in page and "In Garantie bis" in page


def test_portal_history_in_english_says_the_warranty_in_words(app, customer_client, company_a, customer_a):
    _device(company_a, warranty_until=dt.date(2020, 1, 31))
    _order(company_a, customer_a, SERIAL)
    page = text(customer_client.get("/cc/devices/history", query_string={"serial": SERIAL, "_l_": "en"}))
    assert "Service history" in page and "Expired since Jan 31, 2020" in page
    assert "Gerätehistorie" not in page


def test_portal_history_of_another_companys_serial_shows_nothing(app, company_a, customer_a, customer_b):
    secret = _order(company_a, customer_a, "A-ONLY-SERIAL", fault="A-FAULT")
    _device(company_a, serial="A-ONLY-SERIAL", description="A-DEVICE")
    client = _client_for(app, customer_b)
    response = client.get("/cc/devices/history", query_string={"serial": "A-ONLY-SERIAL"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert secret.rma_number not in body and "A-FAULT" not in body and "A-DEVICE" not in body
    assert "Kein Auftrag enthält diese Seriennummer." in text(response)


def test_staff_history_shows_every_company_and_source(app, staff_client, company_a, customer_a, company_b,
                                                      customer_b, staff_user):
    a = _order(company_a, customer_a, SERIAL)
    b = _order(company_b, customer_b, SERIAL)
    walk_in = make_order(None, staff_user, items=0, customer_name="Walk-in Meier")
    from app.models import OrderItem
    walk_in.items.append(OrderItem(description="Scanner", serial_number=SERIAL, quantity=1))
    db.session.commit()
    _device(company_a)
    _device(company_b)
    response = staff_client.get("/backend/devices/history", query_string={"serial": SERIAL})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for order in (a, b, walk_in):
        assert order.rma_number in body and f"/backend/orders/show/{order.id}" in body
    assert len(_history_rows(body)) == 3
    assert body.count('class="panel panel-default register-device"') == 2
    assert company_a.name in body and company_b.name in body and "Walk-in Meier" in body


def test_a_repeat_repair_is_marked_in_the_history(app, staff_client, company_a, customer_a, staff_user):
    first = _order(company_a, customer_a, SERIAL)
    shipped = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "shipped_back")).one()
    change_status(first, shipped, staff_user)
    db.session.commit()
    again = _order(company_a, customer_a, SERIAL)
    assert again.items[0].repeat_of_order_id == first.id
    body = staff_client.get("/backend/devices/history", query_string={"serial": SERIAL}).get_data(as_text=True)
    rows = _history_rows(body)
    assert again.rma_number in rows[0] and "Wiederholungsreparatur" in rows[0]
    assert "Wiederholungsreparatur" not in rows[1]


def test_serial_numbers_on_order_pages_link_to_their_history(app, customer_client, staff_client, company_a,
                                                             customer_a):
    order = _order(company_a, customer_a, SERIAL)
    for client, url, prefix in ((customer_client, f"/cc/orders/{order.id}", "/cc"),
                                (staff_client, f"/backend/orders/show/{order.id}", "/backend")):
        links = re.findall(r'class="serial-history" href="([^"]+)"', client.get(url).get_data(as_text=True))
        assert [unquote(link) for link in links] == [f"{prefix}/devices/history?serial={SERIAL}"]
        assert client.get(links[0]).status_code == 200


def test_empty_and_too_long_serial_numbers(app, customer_client):
    response = customer_client.get("/cc/devices/history")
    assert response.status_code == 200 and 'id="serial"' in response.get_data(as_text=True)
    response = customer_client.get("/cc/devices/history", query_string={"serial": "x" * 101})
    assert response.status_code == 400
    assert "höchstens 100 Zeichen" in text(response)


def test_history_pages_need_their_permission(app, client, staff_client, customer_client):
    assert client.get("/cc/devices/history?serial=x").status_code == 302  # anonymous: to the login
    assert staff_client.get("/cc/devices/history?serial=x").status_code == 403
    assert customer_client.get("/backend/devices/history?serial=x").status_code == 403


def test_dashboard_counts_open_repeat_repairs_and_links_to_them(app, staff_client, company_a, customer_a,
                                                                 staff_user):
    first = _order(company_a, customer_a, SERIAL, reference="FIRST")
    shipped = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "shipped_back")).one()
    change_status(first, shipped, staff_user)
    db.session.commit()
    again = _order(company_a, customer_a, SERIAL, reference="AGAIN")
    unrelated = _order(company_a, customer_a, "OTHER-SERIAL", reference="UNRELATED")
    body = staff_client.get("/backend/dashboard/").get_data(as_text=True)
    link = re.search(r'id="count-repeat-repairs" href="([^"]+)"', body).group(1)
    count = re.search(r'id="count-repeat-repairs".*?<strong[^>]*>([^<]+)</strong>', body, re.S).group(1)
    assert count == "1"
    assert _listed(staff_client.get(link)) == {"AGAIN"}
    assert _listed(staff_client.get("/backend/orders/list/?_flt_1_items=all")) == {"AGAIN"}
    # once completed it no longer counts as open
    closed = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "closed")).one()
    change_status(again, closed, staff_user)
    db.session.commit()
    body = staff_client.get("/backend/dashboard/").get_data(as_text=True)
    assert re.search(r'id="count-repeat-repairs".*?<strong[^>]*>([^<]+)</strong>', body, re.S).group(1) == "0"
    assert _listed(staff_client.get(link)) == set()
    assert _listed(staff_client.get("/backend/orders/list/?_flt_1_items=all")) == {"AGAIN"}


def _listed(response) -> set[str]:
    html = response.get_data(as_text=True)
    return {ref for ref in ("FIRST", "AGAIN", "UNRELATED") if f">{ref}<" in html}
