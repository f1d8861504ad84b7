"""Ordering from the device register: serial numbers as you type, the warranty of each article as the
order was created, repeat repairs for staff, the staff list filtered by warranty."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import Device, Order, OrderStatus
from app.services.orders import change_status
from tests.conftest import _client_for
from tests.factories import make_order
from tests.helpers import new_order_data, text

FUTURE = dt.date(2099, 12, 31)
PAST = dt.date(2020, 6, 30)


def add_device(company, serial, description="Messgerät MX-3", article_number="MX-3", warranty_until=None,
               active=True):
    device = Device(company_id=company.id, serial_number=serial, description=description,
                    article_number=article_number, warranty_until=warranty_until, active=active)
    db.session.add(device)
    db.session.commit()
    return device


def order_with(client, reference, serials):
    articles = [dict(description=f"Gerät {s}", serial_number=s, quantity="1", fault_description="defekt")
                for s in serials]
    response = client.post("/cc/orders/new", data=new_order_data(reference, articles))
    assert response.status_code == 302, text(response)
    return db.session.scalars(select(Order).where(Order.reference == reference)).one()


# -- search as you type --------------------------------------------------------------------------

def test_search_answers_the_own_companys_devices_only(app, customer_client, company_a, company_b, customer_b):
    add_device(company_a, "SN-1000-A", warranty_until=FUTURE)
    add_device(company_a, "XX-SN-1000", warranty_until=PAST, article_number=None)
    add_device(company_a, "SN-1000-RETIRED", active=False)
    add_device(company_b, "SN-1000-B", description="B-Gerät")

    found = customer_client.get("/cc/devices/search?q=sn-1000").get_json()
    assert found == [
        {"serial_number": "SN-1000-A", "article_number": "MX-3", "description": "Messgerät MX-3",
         "warranty": "in", "warranty_until": "2099-12-31"},
        {"serial_number": "XX-SN-1000", "article_number": "", "description": "Messgerät MX-3",
         "warranty": "expired", "warranty_until": "2020-06-30"},
    ]
    b_found = _client_for(app, customer_b).get("/cc/devices/search?q=SN-1000").get_json()
    assert [d["serial_number"] for d in b_found] == ["SN-1000-B"]
    assert "SN-1000-A" not in _client_for(app, customer_b).get("/cc/devices/search?q=1000-A").get_data(as_text=True)


def test_search_needs_two_characters_and_answers_at_most_ten(app, customer_client, company_a):
    for n in range(12):
        add_device(company_a, f"K{n:02d}")
    assert customer_client.get("/cc/devices/search?q=K").get_json() == []
    assert customer_client.get("/cc/devices/search?q=%20K%20").get_json() == []
    assert customer_client.get("/cc/devices/search").get_json() == []
    assert len(customer_client.get("/cc/devices/search?q=K0").get_json()) == 10
    assert customer_client.get("/cc/devices/search?q=%25%25").get_json() == []  # LIKE wildcards are text


def test_search_is_for_portal_users_only(app, client, staff_client, company_a):
    add_device(company_a, "SN-STAFF-1")
    assert staff_client.get("/cc/devices/search?q=SN").status_code == 403
    response = client.get("/cc/devices/search?q=SN")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_new_order_form_offers_the_register_on_every_serial_number(app, customer_client):
    html = customer_client.get("/cc/orders/new").get_data(as_text=True)
    assert 'data-device-search="/cc/devices/search"' in html and '<datalist id="device-matches">' in html
    assert 'name="items-0-serial_number" value="" maxlength="100" list="device-matches"' in html
    # the template for rows added in the page too
    assert 'name="items-__INDEX__-serial_number" value="" maxlength="100" list="device-matches"' in html
    public = customer_client.get("/repair/").get_data(as_text=True)
    assert "device-matches" not in public  # no register behind the public order form


# -- warranty per article ------------------------------------------------------------------------

def test_order_page_shows_each_articles_warranty_in_german(app, customer_client, company_a):
    add_device(company_a, "SN-IN", warranty_until=dt.date(2099, 12, 31))
    add_device(company_a, "SN-OUT", warranty_until=dt.date(2020, 6, 30))
    order = order_with(customer_client, "PO-W", ["SN-IN", "SN-OUT", "SN-NEW"])
    page = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert "Garantie" in page
    assert "SN-IN 1 defekt In Garantie (bis 31.12.2099)" in page
    assert "SN-OUT 1 defekt Abgelaufen (seit 30.06.2020)" in page
    assert "SN-NEW 1 defekt Unbekannt" in page
    # as the order was created: a later change in the register does not change the order
    db.session.scalars(select(Device).where(Device.serial_number == "SN-IN")).one().warranty_until = PAST
    db.session.commit()
    assert "In Garantie (bis 31.12.2099)" in text(customer_client.get(f"/cc/orders/{order.id}"))


def test_staff_see_warranty_and_the_repeat_repair_with_its_earlier_order(app, customer_client, staff_client,
                                                                         company_a, customer_a, staff_user):
    add_device(company_a, "SN-BACK", warranty_until=FUTURE)
    earlier = make_order(company_a, customer_a)
    earlier.items[0].serial_number = "SN-BACK"
    shipped = db.session.scalars(select(OrderStatus).where(OrderStatus.code == "shipped_back")).one()
    change_status(earlier, shipped, staff_user)
    db.session.commit()
    order = order_with(customer_client, "PO-AGAIN", ["SN-BACK", "SN-OTHER"])
    assert order.items[0].repeat_of_order_id == earlier.id and order.items[1].repeat_of_order_id is None

    response = staff_client.get(f"/backend/orders/show/{order.id}")
    page = text(response)
    assert "In Garantie (bis 31.12.2099) Wiederholungsreparatur früherer Auftrag " + earlier.rma_number in page
    assert page.count("Wiederholungsreparatur") == 1
    assert f'href="/backend/orders/show/{earlier.id}"' in response.get_data(as_text=True)
    # the customer sees the warranty, never the staff's repeat-repair mark
    portal = text(customer_client.get(f"/cc/orders/{order.id}"))
    assert "In Garantie" in portal and "Wiederholungsreparatur" not in portal


def test_staff_filter_lists_exactly_the_orders_with_an_article_in_warranty(app, customer_client, staff_client,
                                                                          company_a):
    add_device(company_a, "SN-IN", warranty_until=FUTURE)
    add_device(company_a, "SN-OUT", warranty_until=PAST)
    in_only = order_with(customer_client, "PO-IN", ["SN-IN"])
    mixed = order_with(customer_client, "PO-MIXED", ["SN-OUT", "SN-IN"])
    expired = order_with(customer_client, "PO-OUT", ["SN-OUT"])
    unknown = order_with(customer_client, "PO-UNKNOWN", ["SN-NONE"])

    def listed(value):
        response = staff_client.get(f"/backend/orders/list/?_flt_0_warranty={value}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        return {o.reference for o in (in_only, mixed, expired, unknown) if f">{o.reference}<" in html}

    assert listed("in") == {"PO-IN", "PO-MIXED"}
    assert listed("expired") == {"PO-MIXED", "PO-OUT"}
    assert listed("unknown") == {"PO-UNKNOWN"}
    assert listed("nonsense") == {"PO-IN", "PO-MIXED", "PO-OUT", "PO-UNKNOWN"}
    assert "Garantie" in text(staff_client.get("/backend/orders/list/"))

