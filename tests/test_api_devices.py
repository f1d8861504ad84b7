"""``/api/v1/devices``: the register through the API, scoped like the orders; company admins keep it."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Device
from tests.factories import make_order
from tests.helpers import today
from tests.test_api import auth, create_key, jwt_for, key_a, key_b  # noqa: F401 (fixtures)

DEVICES = "/api/v1/devices"


def _device(company, serial, **kw):
    device = Device(company_id=company.id, serial_number=serial, description=kw.pop("description", f"Device {serial}"),
                    **kw)
    db.session.add(device)
    db.session.commit()
    return device


def _rows(company_id) -> list[tuple]:
    db.session.expire_all()
    return [(d.serial_number, d.description, d.article_number, d.warranty_until, d.active, d.location, d.note)
            for d in db.session.scalars(select(Device).where(Device.company_id == company_id).order_by(Device.id))]


@pytest.fixture
def register_a(app, company_a):
    return [
        _device(company_a, "A-100", description="Scanner", article_number="SC-1",
                warranty_until=today() + dt.timedelta(days=10)),
        _device(company_a, "A-200", description="Printer", warranty_until=today() - dt.timedelta(days=1)),
        _device(company_a, "A-300", description="Old scanner", active=False),
    ]


def test_list_is_the_companys_register_with_filters_and_paging(app, register_a, company_b, key_a):
    _device(company_b, "B-SECRET")
    client = app.test_client()
    body = client.get(f"{DEVICES}/", headers=auth(key_a)).get_json()
    assert body["count"] == 3 and [d["serial_number"] for d in body["result"]] == ["A-100", "A-200", "A-300"]
    assert [d["warranty"] for d in body["result"]] == ["in", "expired", "unknown"]
    assert body["result"][0]["warranty_until"] == (today() + dt.timedelta(days=10)).isoformat()
    assert body["result"][0]["created_at"].endswith("Z")

    def serials(query):
        response = client.get(f"{DEVICES}/", query_string=query, headers=auth(key_a))
        assert response.status_code == 200, response.get_json()
        return [d["serial_number"] for d in response.get_json()["result"]]

    assert serials({"q": "scanner"}) == ["A-100", "A-300"]  # description, any case
    assert serials({"q": "SC-1"}) == ["A-100"]  # article number
    assert serials({"q": "a-2"}) == ["A-200"]  # serial number
    assert serials({"q": "%"}) == []  # no wildcard
    assert serials({"q": "B-SECRET"}) == []
    assert serials({"active": "false"}) == ["A-300"]
    assert serials({"warranty": "in"}) == ["A-100"]
    assert serials({"warranty": "expired"}) == ["A-200"]
    assert serials({"warranty": "unknown", "active": "true"}) == []
    assert serials({"page": "1", "page_size": "2"}) == ["A-300"]
    for bad in ({"page": "-1"}, {"page": "1000001"}, {"page": "x"}, {"page_size": "0"}, {"page_size": "101"},
                {"warranty": "maybe"}, {"active": "yes"}, {"q": "x" * 101}):
        response = client.get(f"{DEVICES}/", query_string=bad, headers=auth(key_a))
        assert response.status_code == 400 and "message" in response.get_json(), bad


def test_get_one_and_another_companys_device_is_404(app, register_a, key_a, key_b):
    client = app.test_client()
    device = register_a[0]
    response = client.get(f"{DEVICES}/{device.id}", headers=auth(key_a))
    assert response.status_code == 200
    assert response.get_json()["result"]["serial_number"] == "A-100"
    response = client.get(f"{DEVICES}/{device.id}", headers=auth(key_b))
    assert response.status_code == 404 and "A-100" not in response.get_data(as_text=True)
    before = _rows(device.company_id)
    for method in ("PUT", "PATCH"):
        response = client.open(f"{DEVICES}/{device.id}", method=method, headers=auth(key_b),
                               json={"serial_number": "HACKED", "description": "hacked"})
        assert response.status_code == 404, method
    assert _rows(device.company_id) == before


def test_company_admins_key_creates_a_device_for_its_own_company(app, company_a, company_b, key_a):
    client = app.test_client()
    response = client.post(f"{DEVICES}/", headers=auth(key_a), json={
        "serial_number": " NEW-1 ", "description": "Handheld", "warranty_until": "2030-12-31",
        "delivered_on": "2025-01-15", "location": "Lager 2"})
    assert response.status_code == 201, response.get_json()
    result = response.get_json()["result"]
    assert result["serial_number"] == "NEW-1" and result["company_id"] == company_a.id
    assert result["warranty"] == "in" and result["active"] is True
    assert _rows(company_a.id) == [("NEW-1", "Handheld", None, dt.date(2030, 12, 31), True, "Lager 2", None)]
    assert _rows(company_b.id) == []


def test_a_duplicate_serial_is_409_and_bad_input_400_naming_the_field(app, register_a, company_a, company_b,
                                                                        key_a, key_b):
    client = app.test_client()
    before = _rows(company_a.id)
    response = client.post(f"{DEVICES}/", headers=auth(key_a), json={"serial_number": "A-100", "description": "x"})
    assert response.status_code == 409 and "serial_number" in response.get_json()["message"]
    for body, field in (({"description": "x"}, "serial_number"), ({"serial_number": " ", "description": "x"},
                        "serial_number"), ({"serial_number": "N", "description": "x", "warranty_until": "31.12.2030"},
                        "warranty_until"), ({"serial_number": "N", "description": "x" * 201}, "description"),
                        ({"serial_number": "N", "description": "x", "company_id": company_b.id}, "company_id"),
                        ({"serial_number": "N\x00", "description": "x"}, "serial_number")):
        response = client.post(f"{DEVICES}/", headers=auth(key_a), json=body)
        assert response.status_code == 400, body
        assert field in response.get_json()["message"], (body, response.get_json())
    assert client.post(f"{DEVICES}/", headers=auth(key_a), data="x").status_code == 400
    assert _rows(company_a.id) == before
    # the same serial number in another company's register is no conflict
    response = client.post(f"{DEVICES}/", headers=auth(key_b), json={"serial_number": "A-100", "description": "B's"})
    assert response.status_code == 201
    assert _rows(company_b.id)[0][:2] == ("A-100", "B's")


def test_put_replaces_patch_changes_only_what_is_sent(app, register_a, key_a):
    client = app.test_client()
    device = register_a[0]
    response = client.patch(f"{DEVICES}/{device.id}", headers=auth(key_a), json={"active": False, "note": "retired"})
    assert response.status_code == 200, response.get_json()
    assert _rows(device.company_id)[0] == ("A-100", "Scanner", "SC-1", today() + dt.timedelta(days=10), False, None,
                                           "retired")
    response = client.put(f"{DEVICES}/{device.id}", headers=auth(key_a),
                          json={"serial_number": "A-101", "description": "Scanner 2"})
    assert response.status_code == 200
    assert _rows(device.company_id)[0] == ("A-101", "Scanner 2", None, None, True, None, None)
    response = client.patch(f"{DEVICES}/{device.id}", headers=auth(key_a), json={"serial_number": "A-200"})
    assert response.status_code == 409
    response = client.put(f"{DEVICES}/{device.id}", headers=auth(key_a), json={"serial_number": "A-102"})
    assert response.status_code == 400 and "description" in response.get_json()["message"]
    assert _rows(device.company_id)[0][0] == "A-101"


def test_employees_read_but_do_not_write_staff_read_every_company(app, register_a, company_b, customer_a,
                                                                  staff_user):
    _device(company_b, "B-1")
    client = app.test_client()
    employee = {"Authorization": "Bearer " + jwt_for(client, customer_a.email)}
    assert client.get(f"{DEVICES}/", headers=employee).get_json()["count"] == 3
    assert client.post(f"{DEVICES}/", headers=employee, json={"serial_number": "E", "description": "x"}).status_code == 403
    assert client.patch(f"{DEVICES}/{register_a[0].id}", headers=employee, json={"note": "x"}).status_code == 403
    staff = {"Authorization": "Bearer " + jwt_for(client, staff_user.email)}
    body = client.get(f"{DEVICES}/", headers=staff).get_json()
    assert body["count"] == 4 and "B-1" in [d["serial_number"] for d in body["result"]]
    assert client.get(f"{DEVICES}/{register_a[0].id}", headers=staff).status_code == 200
    assert client.post(f"{DEVICES}/", headers=staff, json={"serial_number": "S", "description": "x"}).status_code == 403
    assert client.patch(f"{DEVICES}/{register_a[0].id}", headers=staff, json={"note": "x"}).status_code == 403
    assert db.session.scalar(select(func.count(Device.id))) == 4


def test_history_of_a_serial_is_the_companys_orders_only(app, company_a, customer_a, company_b, customer_b,
                                                         register_a, key_a, key_b, staff_user):
    from app.services.orders import create_portal_order

    def order(company, user, fault):
        o = create_portal_order(company, user, "REF", [dict(description="Scanner", serial_number="A-100",
                                                            quantity=3, fault_description=fault)])
        db.session.commit()
        return o

    first, second = order(company_a, customer_a, "first"), order(company_a, customer_a, "second")
    other = order(company_b, customer_b, "B-SECRET-FAULT")
    make_order(company_a, customer_a)
    client = app.test_client()
    body = client.get(f"{DEVICES}/history", query_string={"serial": "A-100"}, headers=auth(key_a)).get_json()
    assert body["serial_number"] == "A-100"
    assert [d["serial_number"] for d in body["devices"]] == ["A-100"]
    assert [(r["rma_number"], r["fault_description"], r["quantity"]) for r in body["result"]] == [
        (second.rma_number, "second", 3), (first.rma_number, "first", 3)]
    assert body["result"][0]["in_warranty"] is True and body["result"][0]["status"]["code"]
    response = client.get(f"{DEVICES}/history", query_string={"serial": "A-100"}, headers=auth(key_b))
    body_b = response.get_data(as_text=True)
    assert response.status_code == 200 and first.rma_number not in body_b and '"second"' not in body_b
    assert [r["rma_number"] for r in response.get_json()["result"]] == [other.rma_number]
    assert response.get_json()["devices"] == []
    staff = {"Authorization": "Bearer " + jwt_for(client, staff_user.email)}
    body = client.get(f"{DEVICES}/history", query_string={"serial": "A-100"}, headers=staff).get_json()
    assert len(body["result"]) == 3
    for bad in ({}, {"serial": " "}, {"serial": "x" * 101}):
        assert client.get(f"{DEVICES}/history", query_string=bad, headers=auth(key_a)).status_code == 400


def test_the_api_needs_credentials_and_never_a_session(app, register_a, customer_client):
    assert app.test_client().get(f"{DEVICES}/").status_code == 401
    assert customer_client.get(f"{DEVICES}/").status_code == 401


def test_the_api_keeps_the_registers_rules_and_audits_like_the_portal(app, register_a, company_a, key_a):
    from app.models import AuditEvent

    client = app.test_client()
    before = _rows(company_a.id)
    response = client.post(f"{DEVICES}/", headers=auth(key_a), json={
        "serial_number": "N-1", "description": "x", "delivered_on": "2026-05-01", "warranty_until": "2026-04-30"})
    assert response.status_code == 400 and "warranty_until" in response.get_json()["message"]
    response = client.patch(f"{DEVICES}/{register_a[0].id}", headers=auth(key_a), json={"delivered_on": "2099-01-01"})
    assert response.status_code == 400 and "warranty_until" in response.get_json()["message"]
    assert _rows(company_a.id) == before

    response = client.post(f"{DEVICES}/", headers=auth(key_a), json={"serial_number": "N-2", "description": "Pad",
                                                                      "active": False})
    assert response.status_code == 201
    new_id = response.get_json()["id"]
    assert client.patch(f"{DEVICES}/{new_id}", headers=auth(key_a), json={"location": "Hall 3"}).status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "Device",
                                                         AuditEvent.object_id == new_id)
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["device.created", "device.retired", "device.updated"]
    assert all(e.company_id == company_a.id and e.actor_id is not None for e in events)
    assert "Hall 3" in events[-1].new_values
