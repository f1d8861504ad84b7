"""Every route against the declared table of who may use it."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, RegistrationRequest, StatusChange
from app.security import roles
from tests.conftest import _client_for
from tests.factories import PASSWORD, make_user
from tests.helpers import new_order_data, upload
from tests.route_table import ANONYMOUS, API_ROUTE_TABLE, ROUTE_TABLE

ROLES = [ANONYMOUS, roles.CUSTOMER, roles.COMPANY_ADMIN, roles.STAFF, roles.ADMIN]


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert sorted(endpoints - set(ROUTE_TABLE)) == [], "routes nobody has decided about"
    assert sorted(set(ROUTE_TABLE) - endpoints) == [], "table rows without a route"


@pytest.fixture
def world(app, customer_client, company_a, customer_a, company_admin_a, staff_user):
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-R", files=[upload("r.pdf")]))
    from app.models import Order
    order = db.session.scalars(select(Order)).one()
    victim = make_user(company_a, roles.CUSTOMER, email="victim@alpha.example")
    admin = make_user(None, roles.ADMIN, email="root@example.org")
    req = RegistrationRequest(company_name="R AG", first_name="R", last_name="S", email="r@r.example")
    db.session.add(req)
    db.session.commit()
    staff_client = _client_for(app, staff_user)
    staff_client.post(f"/backend/orders/{order.id}/status", data={"status_id": order.status_id + 1, "note": "n"})
    db.session.commit()
    return {
        "order": order.id, "item": order.items[0].id, "file": order.attachments[0].id,
        "company": company_a.id, "victim": victim.id, "request": req.id,
        "history": db.session.scalars(select(StatusChange.id)).first(),
        "audit": db.session.scalars(select(AuditEvent.id)).first(),
        "users": {roles.CUSTOMER: customer_a, roles.COMPANY_ADMIN: company_admin_a, roles.STAFF: staff_user,
                  roles.ADMIN: admin},
    }


def _pk_for(endpoint: str, world) -> int:
    view = endpoint.split(".")[0]
    return {
        "StaffOrderItemView": world["item"], "StaffCompanyView": world["company"],
        "StaffStatisticsView": world["company"],
        "StaffCompanyUserView": world["victim"], "PortalEmployeeView": world["victim"],
        "StaffRegistrationView": world["request"], "StaffStatusView": 1,
        "StaffStatusHistoryView": world["history"], "StaffAuditView": world["audit"],
        "OrderApi": world["order"], "QuoteApi": world["order"],
    }.get(view, world["order"] if view.startswith(("Portal", "Staff")) else 1)


def _url(rule, world) -> str:
    values = {"pk": _pk_for(rule.endpoint, world), "file_id": world["file"], "filename": "x_sep_y.pdf",
              "name": "x", "locale": "de", "group_by": "0", "token": "not-a-token",
              "version": "v1", "key_uuid": "00000000-0000-0000-0000-000000000000"}
    if rule.endpoint == "StaffOrderView.download_file":
        values["pk"] = world["file"]
    if "/quote/" in rule.rule:
        values["version"] = 1
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[^:>]+:)?{arg}>", str(values[arg]), url)
    return url


def _routes(app):
    rules = [r for r in app.url_map.iter_rules() if not r.rule.startswith(("/static", "/appbuilder"))]
    # logging out last, so every other route is tried logged in
    return sorted(rules, key=lambda r: (r.endpoint.endswith("logout"), r.rule))


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_routes(app, world, role):
    client = app.test_client() if role == ANONYMOUS else _client_for(app, world["users"][role])
    wrong = []
    for rule in _routes(app):
        method = "GET" if "GET" in rule.methods else "POST"
        url = _url(rule, world)
        response = client.open(url, method=method)
        refused = response.status_code in (401, 403) or (
            response.status_code == 302 and "/login" in response.headers.get("Location", "")
            and not rule.endpoint.startswith(("PortalIndexView", "PortalHomeView", "PortalAuthDBView")))
        allowed = role in ROUTE_TABLE[rule.endpoint]
        if response.status_code >= 500:
            wrong.append((method, url, response.status_code, "server error"))
        elif allowed and refused:
            wrong.append((method, url, response.status_code, "refused but should be allowed"))
        elif not allowed and not (refused or response.status_code in (404, 405)):
            wrong.append((method, url, response.status_code, "allowed but should be refused"))
    assert wrong == [], "\n".join(map(str, wrong))


def test_admin_without_company_cannot_create_portal_data(app, world):
    client = _client_for(app, world["users"][roles.ADMIN])
    assert client.post("/cc/orders/new", data=new_order_data("X")).status_code == 403
    assert client.post("/cc/employees/new", data={"first_name": "a", "last_name": "b",
                                                  "email": "x@y.example"}).status_code == 403


@pytest.mark.parametrize("bad", ["99999999999999999999", "abc", "0", "-1"])
def test_impossible_ids_are_not_found_not_server_errors(app, world, bad):
    client = _client_for(app, world["users"][roles.ADMIN])
    staff = _client_for(app, world["users"][roles.STAFF])
    for rule in _routes(app):
        if not ({"pk", "file_id"} & set(rule.arguments)):
            continue
        url = rule.rule
        for arg in rule.arguments:
            value = bad if arg in ("pk", "file_id", "version") else {"name": "x", "filename": "x", "group_by": "0"}[arg]
            url = re.sub(rf"<(?:[^:>]+:)?{arg}>", value, url)
        for c in (client, staff):
            response = c.open(url, method="GET" if "GET" in rule.methods else "POST")
            assert response.status_code in (403, 404, 405), (url, response.status_code)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_api_routes_with_a_jwt(app, world, role):
    client = app.test_client()
    headers = {}
    if role != ANONYMOUS:
        response = client.post("/api/v1/security/login", json={
            "username": world["users"][role].email, "password": PASSWORD, "provider": "db"})
        assert response.status_code == 200
        headers = {"Authorization": "Bearer " + response.get_json()["access_token"]}
    wrong = []
    rules = [r for r in app.url_map.iter_rules() if r.endpoint in API_ROUTE_TABLE]
    assert {r.endpoint for r in rules} == set(API_ROUTE_TABLE)
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule, world)
            response = client.open(url, method=method, headers=headers)
            allowed = role in API_ROUTE_TABLE[rule.endpoint]
            if response.status_code >= 500:
                wrong.append((method, url, response.status_code, "server error"))
            elif allowed and response.status_code in (401, 403):
                wrong.append((method, url, response.status_code, "refused but should be allowed"))
            elif not allowed and response.status_code not in (401, 403):
                wrong.append((method, url, response.status_code, "allowed but should be refused"))
    assert wrong == [], "\n".join(map(str, wrong))
