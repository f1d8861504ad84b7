"""The quote endpoints of the REST API: scoped like the portal, one decision per version."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import AuditEvent, OutgoingMail, Quote, utcnow
from app.security import roles
from tests.factories import make_order, make_sent_quote, make_user
from tests.test_api import API, auth, create_key, jwt_for, key_a, key_b  # noqa: F401 (fixtures)


@pytest.fixture
def order(app, company_a, customer_a):
    return make_order(company_a, customer_a, items=1, reference="Q-API")


@pytest.fixture
def quote(app, order, staff_user):
    return make_sent_quote(order, staff_user)


def state(quote_id):
    db.session.expire_all()
    q = db.session.get(Quote, quote_id)
    return q.state, q.decided_by_id, q.po_number, q.reject_action


def test_get_quote_with_lines_and_totals_as_decimal_strings(app, order, quote, key_a):
    response = app.test_client().get(f"{API}/{order.id}/quote", headers=auth(key_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == order.id and body["rma_number"] == order.rma_number
    result = body["result"]
    assert (result["net"], result["vat"], result["gross"], result["vat_rate"]) == ("240.00", "45.60", "285.60", "19.00")
    assert result["currency"] == "EUR" and result["state"] == "sent" and result["version"] == 1
    assert result["decidable"] is True and result["expired"] is False
    assert result["valid_until"] == quote.valid_until.isoformat() and result["sent_at"].endswith("Z")
    assert [(l["text"], l["quantity"], l["unit_price"], l["amount"]) for l in result["lines"]] == [
        ("Display tauschen", "1.00", "120.00", "120.00"), ("Arbeitszeit", "1.50", "80.00", "120.00")]
    assert result["lines"][0]["item_id"] == order.items[0].id


def test_no_sent_quote_is_404(app, order, key_a, staff_user):
    from decimal import Decimal

    from app.services import quotes

    client = app.test_client()
    assert client.get(f"{API}/{order.id}/quote", headers=auth(key_a)).status_code == 404
    quotes.save_draft(order, staff_user, lines=[dict(text="Entwurf", quantity="1", unit_price="1")],
                      vat_rate=Decimal("19"), valid_until=utcnow().date() + dt.timedelta(days=5), note=None)
    db.session.commit()
    assert client.get(f"{API}/{order.id}/quote", headers=auth(key_a)).status_code == 404  # a draft


def test_another_companys_key_gets_404_and_decides_nothing(app, order, quote, key_b):
    client = app.test_client()
    assert client.get(f"{API}/{order.id}/quote", headers=auth(key_b)).status_code == 404
    response = client.post(f"{API}/{order.id}/quote/accept", headers=auth(key_b), json={"version": 1})
    assert response.status_code == 404
    response = client.post(f"{API}/{order.id}/quote/reject", headers=auth(key_b),
                           json={"version": 1, "action": "dispose"})
    assert response.status_code == 404
    assert state(quote.id) == ("sent", None, None, None)


def test_a_non_approving_employee_gets_403(app, order, quote, customer_a):
    client = app.test_client()
    token = jwt_for(client, customer_a.email)
    assert client.get(f"{API}/{order.id}/quote", headers=auth(token)).status_code == 200
    response = client.post(f"{API}/{order.id}/quote/accept", headers=auth(token), json={"version": 1})
    assert response.status_code == 403 and "message" in response.get_json()
    assert state(quote.id) == ("sent", None, None, None)


def test_key_of_an_admin_who_became_a_plain_employee_gets_403(app, company_a, order, quote):
    """A key acts with its creating user's rights as they are now."""
    admin = make_user(company_a, roles.COMPANY_ADMIN, email="former-admin@alpha.example")
    key = create_key(app, admin)
    admin.roles = [app.appbuilder.sm.find_role(roles.CUSTOMER)]
    db.session.commit()
    response = app.test_client().post(f"{API}/{order.id}/quote/accept", headers=auth(key), json={"version": 1})
    assert response.status_code == 403
    assert state(quote.id)[0] == "sent"


def test_staff_read_but_do_not_decide(app, order, quote, staff_user):
    client = app.test_client()
    token = jwt_for(client, staff_user.email)
    assert client.get(f"{API}/{order.id}/quote", headers=auth(token)).status_code == 200
    response = client.post(f"{API}/{order.id}/quote/accept", headers=auth(token), json={"version": 1})
    assert response.status_code == 403
    assert state(quote.id)[0] == "sent"


def test_accept_200_with_the_quote_audit_and_mail(app, order, quote, key_a, company_admin_a):
    response = app.test_client().post(f"{API}/{order.id}/quote/accept", headers=auth(key_a),
                                      json={"version": 1, "po_number": "ERP-PO-1"})
    assert response.status_code == 200, response.get_json()
    result = response.get_json()["result"]
    assert result["state"] == "accepted" and result["po_number"] == "ERP-PO-1"
    assert result["decided_by"] == company_admin_a.full_name and result["decided_at"].endswith("Z")
    assert result["decidable"] is False
    assert state(quote.id) == ("accepted", company_admin_a.id, "ERP-PO-1", None)
    db.session.expire_all()
    assert order.status.code == "in_repair"
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "quote.accepted")) == 1
    assert db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.kind == "quote_decided")) == 1


def test_reject_with_dispose(app, order, quote, key_a):
    response = app.test_client().post(f"{API}/{order.id}/quote/reject", headers=auth(key_a),
                                      json={"version": 1, "action": "dispose"})
    assert response.status_code == 200
    assert response.get_json()["result"]["reject_action"] == "dispose"
    db.session.expire_all()
    assert order.status.code == "quote_rejected"


@pytest.mark.parametrize("path, body", [
    ("accept", {}), ("accept", {"version": "1"}), ("accept", {"version": 0}), ("accept", {"version": 2**40}),
    ("accept", {"version": 1, "po_number": "P" * 51}), ("accept", {"version": 1, "company_id": 2}),
    ("accept", [1]), ("reject", {"version": 1}), ("reject", {"version": 1, "action": "burn"}),
])
def test_invalid_input_is_400_and_nothing_changes(app, order, quote, key_a, path, body):
    response = app.test_client().post(f"{API}/{order.id}/quote/{path}", headers=auth(key_a), json=body)
    assert response.status_code == 400 and response.get_json()["message"]
    assert state(quote.id) == ("sent", None, None, None)


def test_po_number_required_and_missing_is_400_naming_the_field(app, company_a, order, quote, key_a):
    company_a.po_number_required = True
    db.session.commit()
    response = app.test_client().post(f"{API}/{order.id}/quote/accept", headers=auth(key_a), json={"version": 1})
    assert response.status_code == 400 and "po_number" in response.get_json()["message"]
    assert state(quote.id)[0] == "sent"


def test_replaced_decided_and_expired_versions_are_409(app, order, quote, key_a, staff_user):
    client = app.test_client()
    make_sent_quote(order, staff_user, lines=[dict(text="Neu", quantity="1", unit_price="5")])
    response = client.post(f"{API}/{order.id}/quote/accept", headers=auth(key_a), json={"version": 1})
    assert response.status_code == 409 and "ersetzt" in response.get_json()["message"]
    assert client.post(f"{API}/{order.id}/quote/accept", headers=auth(key_a), json={"version": 2}).status_code == 200
    response = client.post(f"{API}/{order.id}/quote/reject", headers=auth(key_a),
                           json={"version": 2, "action": "return"})
    assert response.status_code == 409 and "bereits" in response.get_json()["message"]
    assert client.post(f"{API}/{order.id}/quote/accept", headers=auth(key_a), json={"version": 9}).status_code == 409


def test_an_expired_version_is_409(app, order, quote, key_a):
    db.session.execute(update(Quote).where(Quote.id == quote.id)
                       .values(valid_until=utcnow().date() - dt.timedelta(days=2)))
    db.session.commit()
    client = app.test_client()
    assert client.get(f"{API}/{order.id}/quote", headers=auth(key_a)).get_json()["result"]["expired"] is True
    response = client.post(f"{API}/{order.id}/quote/accept", headers=auth(key_a), json={"version": 1})
    assert response.status_code == 409 and "abgelaufen" in response.get_json()["message"]
    assert state(quote.id)[0] == "sent"


def test_the_description_documents_the_quote_operations(app, key_a):
    spec = app.test_client().get("/api/v1/_openapi", headers=auth(key_a)).get_json()
    get = spec["paths"]["/api/v1/orders/{pk}/quote"]["get"]
    assert {"200", "401", "403", "404"} <= set(get["responses"])
    for path in ("accept", "reject"):
        post = spec["paths"][f"/api/v1/orders/{{pk}}/quote/{path}"]["post"]
        assert {"200", "400", "401", "403", "404", "409", "413"} <= set(post["responses"])
    assert spec["components"]["schemas"]["QuoteReject"]["properties"]["action"]["enum"] == ["return", "dispose"]
