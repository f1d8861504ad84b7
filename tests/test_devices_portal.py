"""The device register in the portal: what employees read, what company admins change and import."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Device
from tests.conftest import _client_for
from tests.helpers import text


def _form(**values):
    data = {"serial_number": "SN-100", "article_number": "ART-1", "description": "Infusionspumpe",
            "delivered_on": "2025-01-10", "warranty_until": "2027-01-10", "location": "KST 4711", "note": ""}
    data.update(values)
    return data


def _table(response) -> str:
    """The visible text of the device table only (flash messages name devices too)."""
    html = response.get_data(as_text=True)
    return text(type("R", (), {"get_data": lambda self, as_text=True: html[html.find('id="devices"'):]})())


def _devices(company):
    db.session.expire_all()
    return db.session.scalars(select(Device).where(Device.company_id == company.id).order_by(Device.serial_number)).all()


def test_company_admin_adds_edits_retires_and_reactivates(app, company_admin_client, company_a):
    response = company_admin_client.post("/cc/devices/new", data=_form())
    assert response.status_code == 302
    device = _devices(company_a)[0]
    page = text(company_admin_client.get(f"/cc/devices/{device.id}"))
    assert "SN-100" in page and "In Garantie (bis 10.01.2027)" in page and "KST 4711" in page
    response = company_admin_client.post(f"/cc/devices/{device.id}/edit", data=_form(location="Station 3"))
    assert response.status_code == 302 and _devices(company_a)[0].location == "Station 3"
    company_admin_client.post(f"/cc/devices/{device.id}/retire")
    assert _devices(company_a)[0].active is False
    listed = _table(company_admin_client.get("/cc/devices/"))
    assert "SN-100" not in listed and "Noch keine Geräte." in listed
    assert "SN-100" in _table(company_admin_client.get("/cc/devices/?state=retired"))
    company_admin_client.post(f"/cc/devices/{device.id}/reactivate")
    assert _devices(company_a)[0].active is True
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Device")).all()
    assert actions == ["device.created", "device.updated", "device.retired", "device.reactivated"]


def test_duplicate_serial_and_bad_dates_are_shown_at_the_fields(app, company_admin_client, company_a):
    company_admin_client.post("/cc/devices/new", data=_form())
    response = company_admin_client.post("/cc/devices/new", data=_form(description="Zweite",
                                                                       warranty_until="2024-01-01"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="serial_number-error"' in html and 'id="warranty_until-error"' in html
    page = text(response)
    assert "Diese Seriennummer ist bereits in Ihrem Geräteverzeichnis." in page
    assert "Die Garantie kann nicht vor dem Lieferdatum enden." in page
    assert [d.description for d in _devices(company_a)] == ["Infusionspumpe"]


def test_employee_reads_but_cannot_change(app, customer_client, company_admin_client, company_a):
    company_admin_client.post("/cc/devices/new", data=_form(warranty_until="2025-02-01"))
    device = _devices(company_a)[0]
    page = text(customer_client.get("/cc/devices/?q=infusion"))
    assert "SN-100" in page and "Abgelaufen (seit 01.02.2025)" in page and "Aus Datei" not in page
    assert customer_client.get("/cc/devices/new").status_code == 403
    assert customer_client.post("/cc/devices/new", data=_form(serial_number="SN-X")).status_code == 403
    assert customer_client.post(f"/cc/devices/{device.id}/retire").status_code == 403
    assert customer_client.post("/cc/devices/import").status_code == 403
    assert [d.serial_number for d in _devices(company_a)] == ["SN-100"] and _devices(company_a)[0].active


def test_another_companys_device_is_not_found(app, company_admin_client, company_a, company_admin_b):
    company_admin_client.post("/cc/devices/new", data=_form(serial_number="A-SECRET-SN"))
    device = _devices(company_a)[0]
    other = _client_for(app, company_admin_b)
    for url in (f"/cc/devices/{device.id}", f"/cc/devices/{device.id}/edit"):
        assert other.get(url).status_code == 404
    for url in (f"/cc/devices/{device.id}/edit", f"/cc/devices/{device.id}/retire"):
        assert other.post(url, data=_form(serial_number="HACKED")).status_code == 404
    for url in ("/cc/devices/?q=A-SECRET", "/cc/devices/export.csv?state=all", "/cc/devices/export.xlsx"):
        assert b"A-SECRET-SN" not in other.get(url).data
    assert _devices(company_a)[0].serial_number == "A-SECRET-SN" and _devices(company_a)[0].active


def _csv(rows, sep=";"):
    return "\ufeff" + "\r\n".join(sep.join(r) for r in rows) + "\r\n"


def test_import_preview_lists_errors_and_saves_nothing(app, company_admin_client, company_a):
    company_admin_client.post("/cc/devices/new", data=_form(serial_number="SN-OLD"))
    data = _csv([["Seriennummer", "Bezeichnung", "Garantie bis"],
                 ["SN-1", "Pumpe", "31.12.2026"],
                 ["SN-OLD", "Pumpe", ""],
                 ["SN-3", "Pumpe", "32.01.2026"]])
    response = company_admin_client.post("/cc/devices/import", content_type="multipart/form-data",
                                         data={"file": (io.BytesIO(data.encode()), "geraete.csv")})
    assert response.status_code == 422
    page = text(response)
    assert "2 Fehler: Es wurde nichts gespeichert." in page
    assert "3 Seriennummer Diese Seriennummer ist bereits in Ihrem Geräteverzeichnis." in page
    assert "4 Garantie bis „32.01.2026“ ist kein Datum" in page
    assert "Übernehmen" not in page
    assert [d.serial_number for d in _devices(company_a)] == ["SN-OLD"]


def test_import_confirm_saves_every_row(app, company_admin_client, company_a, company_admin_b):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Serial number", "Description", "Delivery date", "Warranty until", "Location or cost centre"])
    sheet.append(["X-1", "=1+1", dt.datetime(2025, 3, 1), "2027-03-01", "Lab"])
    sheet.append(["X-2", "Scale", None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = company_admin_client.post("/cc/devices/import", content_type="multipart/form-data",
                                         data={"file": (io.BytesIO(buffer.getvalue()), "devices.xlsx")})
    assert response.status_code == 200
    assert "2 Geräte können übernommen werden." in text(response)
    token = response.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    # the preview belongs to this user: another company's admin cannot confirm it into theirs
    assert _client_for(app, company_admin_b).post("/cc/devices/import/confirm", data={"token": token}).status_code == 302
    assert db.session.scalars(select(Device)).all() == []
    response = company_admin_client.post("/cc/devices/import/confirm", data={"token": token})
    assert response.status_code == 302
    saved = _devices(company_a)
    assert [(d.serial_number, d.description, d.delivered_on, d.warranty_until) for d in saved] == [
        ("X-1", "=1+1", dt.date(2025, 3, 1), dt.date(2027, 3, 1)), ("X-2", "Scale", None, None)]
    # the same token again saves nothing twice
    company_admin_client.post("/cc/devices/import/confirm", data={"token": token})
    assert len(_devices(company_a)) == 2


def test_export_neutralises_formulas(app, company_admin_client, company_a):
    company_admin_client.post("/cc/devices/new", data=_form(serial_number="SN-F", description="=cmd|' /C calc'!A0"))
    body = company_admin_client.get("/cc/devices/export.csv").get_data(as_text=True)
    assert "'=cmd" in body and ";=cmd" not in body
    response = company_admin_client.get("/cc/devices/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [c.value for c in sheet[2]]
    assert values[0] == "SN-F" and values[2].startswith("'=cmd")


def test_templates_have_headers_in_the_users_language(app, company_admin_client, company_admin_a):
    body = company_admin_client.get("/cc/devices/template.csv").get_data(as_text=True)
    assert body.lstrip("\ufeff").splitlines()[0].startswith("Seriennummer;Artikelnummer;Bezeichnung;Lieferdatum")
    company_admin_a.language = "en"
    db.session.commit()
    english = _client_for(app, company_admin_a)
    body = english.get("/cc/devices/template.csv?_l_=en").get_data(as_text=True)
    assert body.lstrip("\ufeff").splitlines()[0].startswith("Serial number,Article number,Description")
    sheet = openpyxl.load_workbook(io.BytesIO(english.get("/cc/devices/template.xlsx?_l_=en").data)).active
    assert [c.value for c in sheet[1]][:2] == ["Serial number", "Article number"]


def test_company_b_imports_only_into_its_own_register(app, company_admin_client, company_a, company_b,
                                                      company_admin_b):
    """A's serial number is no duplicate for B (B never learns it exists) and A's register is untouched."""
    company_admin_client.post("/cc/devices/new", data=_form(serial_number="A-SN-1"))
    before = [(d.id, d.serial_number, d.description) for d in _devices(company_a)]
    other = _client_for(app, company_admin_b)
    data = _csv([["Serial number", "Description"], ["A-SN-1", "B's own"]], sep=",")
    response = other.post("/cc/devices/import", content_type="multipart/form-data",
                          data={"file": (io.BytesIO(data.encode()), "b.csv")})
    assert response.status_code == 200 and "bereits" not in text(response)
    token = response.get_data(as_text=True).split('name="token" value="')[1].split('"')[0]
    # A's admin cannot confirm B's preview into A's register
    assert company_admin_client.post("/cc/devices/import/confirm", data={"token": token}).status_code == 302
    assert [(d.id, d.serial_number, d.description) for d in _devices(company_a)] == before
    other.post("/cc/devices/import/confirm", data={"token": token})
    assert [(d.serial_number, d.description) for d in _devices(company_b)] == [("A-SN-1", "B's own")]
    assert [(d.id, d.serial_number, d.description) for d in _devices(company_a)] == before


def test_staff_see_every_companys_devices_and_edit_with_the_same_rules(app, staff_client, company_a, company_b):
    for company, serial in ((company_a, "SA-1"), (company_a, "SA-2"), (company_b, "SB-1")):
        db.session.add(Device(company_id=company.id, serial_number=serial, description="Gerät"))
    db.session.commit()
    page = text(staff_client.get("/backend/devices/list/"))
    assert all(s in page for s in ("SA-1", "SA-2", "SB-1")) and company_a.name in page and company_b.name in page
    filtered = text(staff_client.get(f"/backend/devices/list/?_flt_0_company={company_b.id}"))
    assert "SB-1" in filtered and "SA-1" not in filtered
    device = db.session.scalars(select(Device).where(Device.serial_number == "SA-2")).one()
    staff_client.post(f"/backend/devices/edit/{device.id}", data={"serial_number": "SA-1", "description": "Gerät"})
    db.session.expire_all()
    assert db.session.get(Device, device.id).serial_number == "SA-2"  # unique within the company
    staff_client.post(f"/backend/devices/edit/{device.id}", data={"serial_number": "SA-3", "description": "Neu",
                                                                   "location": "Halle 2"})
    db.session.expire_all()
    changed = db.session.get(Device, device.id)
    assert (changed.serial_number, changed.location, changed.company_id) == ("SA-3", "Halle 2", company_a.id)


def test_staff_add_a_device_to_the_company_named_by_its_customer_number(app, staff_client, company_a, company_b):
    db.session.add(Device(company_id=company_a.id, serial_number="SA-1", description="Gerät"))
    db.session.commit()
    form = text(staff_client.get("/backend/devices/add"))
    assert "Gerät hinzufügen" in form and "Kundennummer" in form  # the staff user reads German
    before = db.session.scalar(select(func.count(Device.id)))
    for data, field_message in (
        ({"customer_number": "K-NONE", "serial_number": "N-1", "description": "x"}, "Keine Firma hat diese Kundennummer"),
        ({"customer_number": company_a.customer_number, "serial_number": "SA-1", "description": "x"},
         "bereits im Geräteverzeichnis dieser Firma"),
        ({"customer_number": company_a.customer_number, "serial_number": "N-1", "description": "x",
          "delivered_on": "2026-05-02", "warranty_until": "2026-05-01"}, "nicht vor dem Lieferdatum enden"),
        ({"customer_number": company_a.customer_number, "serial_number": "", "description": "x"}, "wird benötigt"),
    ):
        response = staff_client.post("/backend/devices/add", data=data)
        assert response.status_code == 200, data  # the form again, with the message at its field
        assert field_message in text(response), (data, text(response)[:3000])
    assert db.session.scalar(select(func.count(Device.id))) == before

    response = staff_client.post("/backend/devices/add", data={
        "customer_number": f" {company_b.customer_number} ", "serial_number": " SA-1 ", "description": "Scanner",
        "warranty_until": "2030-01-31", "location": "Halle 1"})
    assert response.status_code == 302
    added = db.session.scalars(select(Device).where(Device.company_id == company_b.id)).one()
    assert (added.serial_number, added.description, added.warranty_until, added.location, added.active) == (
        "SA-1", "Scanner", dt.date(2030, 1, 31), "Halle 1", True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "device.created",
                                                        AuditEvent.object_id == added.id)).one()
    assert event.company_id == company_b.id
    # a company's own admin sees it; the other company's register is unchanged
    assert [d.serial_number for d in _devices(company_a)] == ["SA-1"]
