"""Ordering from the device register: serial numbers as you type, the warranty of each article as the
order was created, repeat repairs for staff, the staff list filtered by warranty."""
from __future__ import annotations

import datetime as dt
import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Device, Order, OrderStatus, OutgoingMail
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


# -- an order from a file ------------------------------------------------------------------------

HEADER_DE = "Artikelnummer;Bezeichnung;Seriennummer;Menge;Fehlerbeschreibung"


def csv_file(lines, name="auftrag.csv"):
    return (io.BytesIO(("\n".join(lines) + "\n").encode("utf-8")), name)


def xlsx_file(rows, name="auftrag.xlsx"):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return (out, name)


def preview(client, upload, reference="PO-FILE"):
    return client.post("/cc/orders/from-file", content_type="multipart/form-data",
                       data={"reference": reference, "file": upload})


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def counts():
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Order.id))), db.session.scalar(select(func.count(Device.id))),
            db.session.scalar(select(func.count(OutgoingMail.id))))


def test_new_order_page_links_to_the_file_form(app, customer_client):
    assert 'href="/cc/orders/from-file"' in customer_client.get("/cc/orders/new").get_data(as_text=True)
    page = text(customer_client.get("/cc/orders/from-file"))
    assert "Neuer Auftrag: Aus Datei" in page and "Referenznummer" in page


def test_preview_with_bad_rows_lists_each_error_and_saves_nothing(app, customer_client, company_a):
    add_device(company_a, "SN-KNOWN")
    before = counts()
    response = preview(customer_client, csv_file([
        HEADER_DE,
        "MX-3;Messgerät;SN-1;1;Display dunkel",
        "MX-3;;SN-2;1;Taste klemmt",
        "MX-3;Messgerät;SN-3;0;Akku",
        "MX-3;Messgerät;SN-4;10000;Akku",
        "MX-3;Messgerät;SN-5;zwei;Akku",
    ]))
    assert response.status_code == 422
    page = text(response)
    assert "hat 4 Fehler; es wurde nichts gespeichert" in page
    assert "3 Bezeichnung Bitte füllen Sie dieses Feld aus." in page
    assert "4 Menge Die Menge muss eine ganze Zahl von 1 bis 9999 sein." in page
    assert "5 Menge" in page and "6 Menge" in page
    assert 'name="token"' not in response.get_data(as_text=True)  # nothing to confirm
    assert 'id="file"' in response.get_data(as_text=True) and 'value="PO-FILE"' in response.get_data(as_text=True)
    assert counts() == before


def test_files_that_are_no_table_or_too_long_are_refused(app, customer_client):
    before = counts()
    png = preview(customer_client, (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200), "auftrag.csv"))
    assert png.status_code == 422 and "CSV" in text(png)
    rows = [HEADER_DE] + [f"A;Gerät;S{n};1;defekt" for n in range(1001)]
    too_long = preview(customer_client, csv_file(rows))
    assert too_long.status_code == 422 and "mehr als 1000 Zeilen" in text(too_long)
    missing = preview(customer_client, csv_file(["Artikelnummer;Seriennummer", "A;S1"]))
    assert missing.status_code == 422 and "Bezeichnung" in text(missing)
    nothing = customer_client.post("/cc/orders/from-file", content_type="multipart/form-data",
                                   data={"reference": ""})
    assert nothing.status_code == 422
    assert "Bitte füllen Sie dieses Feld aus." in text(nothing) and "Bitte wählen Sie eine CSV- oder XLSX-Datei." in text(nothing)
    assert counts() == before


def test_confirm_creates_one_order_with_every_article_and_adds_the_chosen_serials(
        app, company_admin_a, company_a, staff_user):
    client = _client_for(app, company_admin_a)
    add_device(company_a, "SN-KNOWN", warranty_until=FUTURE)
    rows = [["Article number", "Description", "Serial number", "Quantity", "Fault description"]]
    rows += [["MX-3", "Messgerät", "SN-KNOWN", 1, "=1+1"], ["MX-4", "Pumpe", "SN-NEW-1", 2, "leckt"],
             ["MX-5", "Ventil", "SN-NEW-2", None, "klemmt"], ["", "Kabel", "", 3, "gebrochen"]]
    response = preview(client, xlsx_file(rows), reference="PO-XLSX")
    assert response.status_code == 200, text(response)
    page = text(response)
    assert "Vorschau" in page and "Geräteverzeichnis" in page
    html = response.get_data(as_text=True)
    assert html.count('name="add_serial"') == 2 and 'value="SN-KNOWN"' not in html
    orders, devices_before, mails = counts()
    assert orders == 0  # nothing saved by the preview

    token = token_of(response)
    response = client.post("/cc/orders/from-file/confirm",
                           data={"token": token, "add_serial": ["SN-NEW-1", "SN-EVIL", "SN-KNOWN"]})
    assert response.status_code == 302
    order = db.session.scalars(select(Order)).one()
    assert order.reference == "PO-XLSX" and order.company_id == company_a.id and order.source == "portal"
    assert [(i.serial_number, i.quantity, i.fault_description) for i in order.items] == [
        ("SN-KNOWN", 1, "=1+1"), ("SN-NEW-1", 2, "leckt"), ("SN-NEW-2", 1, "klemmt"), (None, 3, "gebrochen")]
    assert order.items[0].in_warranty is True
    serials = set(db.session.scalars(select(Device.serial_number).where(Device.company_id == company_a.id)))
    assert serials == {"SN-KNOWN", "SN-NEW-1"}
    new = db.session.scalars(select(Device).where(Device.serial_number == "SN-NEW-1")).one()
    assert (new.article_number, new.description) == ("MX-4", "Pumpe")
    assert counts()[2] > mails  # staff hear of it as of any new portal order
    assert "Ihr Auftrag wurde gespeichert" in text(client.get(f"/cc/orders/{order.id}"))
    # the preview is used up: confirming again creates nothing
    again = client.post("/cc/orders/from-file/confirm", data={"token": token})
    assert again.status_code == 302 and again.headers["Location"].endswith("/cc/orders/from-file")
    assert counts()[0] == 1


def test_employees_see_new_serials_but_cannot_add_them(app, customer_client, company_a):
    response = preview(customer_client, csv_file([HEADER_DE, "MX-3;Messgerät;SN-E1;1;defekt"]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "SN-E1" in text(response) and 'name="add_serial"' not in html
    customer_client.post("/cc/orders/from-file/confirm", data={"token": token_of(response), "add_serial": "SN-E1"})
    order = db.session.scalars(select(Order)).one()
    assert len(order.items) == 1
    assert db.session.scalar(select(func.count(Device.id))) == 0
