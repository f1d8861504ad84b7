"""Erasure (DSGVO Art. 17): staff erase a company user or a whole company, behind a confirmation."""
from __future__ import annotations

from flask_appbuilder.security.sqla.models import ApiKey
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, AuditEvent, Company, Order, OrderMessage, PortalUser, WebhookEndpoint
from app.services import erasure
from tests.conftest import _client_for, login
from tests.factories import PASSWORD, make_order
from tests.helpers import new_order_data, stored_files, text, upload


def _api_key(user) -> None:
    db.session.add(ApiKey(name="ERP", key_hash="x", lookup_hash=f"lookup-{user.id}", key_prefix="pk_test",
                          user_id=user.id, active=True))
    db.session.commit()


def test_erasing_a_user_asks_for_the_email_names_what_goes_and_then_ends_the_login(
        app, client, staff_client, company_a, customer_a, customer_client):
    order = make_order(company_a, customer_a, reference="PO-KEEP")
    _api_key(customer_a)
    email, user_id = customer_a.email, customer_a.id
    assert f'/backend/company-users/{user_id}/erase"' in staff_client.get(
        f"/backend/company-users/show/{user_id}").get_data(as_text=True)
    page = staff_client.get(f"/backend/company-users/{user_id}/erase")
    assert page.status_code == 200
    body = text(page)
    assert email in body and "1 API-Schlüssel" in body and "auf 1 von ihm oder ihr erstellten Aufträgen" in body
    # a wrong confirmation changes nothing, with the message next to the field
    wrong = staff_client.post(f"/backend/company-users/{user_id}/erase", data={"confirm": "someone@else.example"})
    assert wrong.status_code == 422 and "Das ist nicht die E-Mail-Adresse des Benutzers." in text(wrong)
    assert db.session.get(PortalUser, user_id).email == email
    done = staff_client.post(f"/backend/company-users/{user_id}/erase", data={"confirm": email.upper()})
    assert done.status_code == 302
    db.session.expire_all()
    user = db.session.get(PortalUser, user_id)
    assert user.email.endswith("@erased.invalid") and not user.active and user.phone is None
    assert email not in (user.first_name + user.last_name + user.username)
    assert db.session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)) == 0
    kept = db.session.get(Order, order.id)
    assert kept.contact_person is None and kept.email is None and kept.reference == "PO-KEEP"
    assert kept.customer_name == company_a.name  # the company's own data stays
    # the live session ends, the old login no longer works
    assert customer_client.get("/cc/orders/").status_code == 302
    assert login(client, email, PASSWORD).status_code in (200, 302)
    assert client.get("/cc/orders/").status_code == 302
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == erasure.USER_ERASED)).one()
    assert email not in (event.object_label or "") + (event.new_values or "")


def test_erasing_a_company_removes_its_personal_data_files_keys_and_webhooks(
        app, staff_client, company_a, company_b, customer_a, customer_b, company_admin_a, customer_client):
    data = new_order_data(reference="PO-A", files=[upload("a.pdf")])
    assert customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data").status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "PO-A")).one()
    db.session.add(OrderMessage(order_id=order.id, company_id=company_a.id, author_id=customer_a.id,
                                body="Frau Berger, 0171 555"))
    db.session.add(WebhookEndpoint(company_id=company_a.id, url="https://erp.a.example/hook", events="order.created",
                                   secret="whsec_x", active=True, created_by_id=company_admin_a.id))
    _api_key(company_admin_a)
    b_order = make_order(company_b, customer_b, reference="PO-B")
    assert len(stored_files(app)) == 1
    number = company_a.customer_number
    assert f'/backend/companies/{company_a.id}/erase"' in staff_client.get(
        f"/backend/companies/show/{company_a.id}").get_data(as_text=True)
    page = text(staff_client.get(f"/backend/companies/{company_a.id}/erase"))
    assert number in page and "1 API-Schlüssel und 1 Webhooks" in page and "seiner 1 Aufträge und 1 Dateien" in page
    assert staff_client.post(f"/backend/companies/{company_a.id}/erase", data={"confirm": "KD-0"}).status_code == 422
    assert db.session.get(Company, company_a.id).active
    assert staff_client.post(f"/backend/companies/{company_a.id}/erase", data={"confirm": number}).status_code == 302
    db.session.expire_all()
    company = db.session.get(Company, company_a.id)
    assert company.name == number and company.street is None and company.email is None and not company.active
    users = db.session.scalars(select(PortalUser).where(PortalUser.company_id == company_a.id)).all()
    assert users and all(u.email.endswith("@erased.invalid") and not u.active for u in users)
    order = db.session.get(Order, order.id)
    assert order.customer_name is None and order.anonymised_at is not None and order.rma_number
    assert db.session.scalars(select(OrderMessage.body).where(OrderMessage.order_id == order.id)).all() == ["–"]
    assert db.session.scalar(select(func.count()).select_from(Attachment).where(Attachment.order_id == order.id)) == 0
    assert stored_files(app) == []
    assert db.session.scalar(select(func.count()).select_from(WebhookEndpoint)
                             .where(WebhookEndpoint.company_id == company_a.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(ApiKey)) == 0
    # company B is untouched
    b = db.session.get(Order, b_order.id)
    assert b.customer_name == company_b.name and b.anonymised_at is None
    assert db.session.get(PortalUser, customer_b.id).active


def test_no_company_can_erase_another_company_or_its_users(app, company_a, company_b, customer_a,
                                                           company_admin_b, customer_b):
    client = _client_for(app, company_admin_b)
    for url, confirm in ((f"/backend/companies/{company_a.id}/erase", company_a.customer_number),
                         (f"/backend/company-users/{customer_a.id}/erase", customer_a.email)):
        assert client.get(url).status_code in (302, 403)
        assert client.post(url, data={"confirm": confirm}).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(Company, company_a.id).active and db.session.get(PortalUser, customer_a.id).active
    assert db.session.get(PortalUser, customer_a.id).email == customer_a.email


def test_staff_and_admins_cannot_be_erased_through_the_company_user_page(staff_client, staff_user):
    assert staff_client.get(f"/backend/company-users/{staff_user.id}/erase").status_code == 404
