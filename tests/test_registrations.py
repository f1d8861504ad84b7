"""Staff decide on registration requests."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Company, PortalUser, RegistrationRequest
from app.security import roles
from tests.conftest import login
from tests.factories import make_user


def make_request(**kw) -> RegistrationRequest:
    req = RegistrationRequest(
        company_name=kw.pop("company_name", "Delta Diagnostik AG"), street="Ring 5", postcode="50667",
        city="Köln", country="Deutschland", first_name="Dora", last_name="Delta",
        email=kw.pop("email", "dora@delta.example"), phone="0221 555", message="Bitte freischalten",
        language=kw.pop("language", "de"), **kw)
    db.session.add(req)
    db.session.commit()
    return req


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_pending_request_is_listed_and_shown_with_decision_buttons(staff_client):
    req = make_request()
    assert "Delta Diagnostik AG" in staff_client.get("/backend/registrations/list/").get_data(as_text=True)
    page = staff_client.get(f"/backend/registrations/show/{req.id}").get_data(as_text=True)
    assert 'id="decision"' in page and "dora@delta.example" in page


def test_approve_creates_company_and_company_admin_and_shows_access_data_once(app, staff_client, staff_user):
    req = make_request()
    response = staff_client.post(f"/backend/registrations/{req.id}/approve")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    password = re.search(r'id="access-password">([^<]+)<', page).group(1)
    assert "dora@delta.example" in page and len(password) >= 12
    company = db.session.scalars(select(Company).where(Company.name == "Delta Diagnostik AG")).one()
    user = db.session.scalars(select(PortalUser).where(PortalUser.email == "dora@delta.example")).one()
    assert user.company_id == company.id and [r.name for r in user.roles] == [roles.COMPANY_ADMIN]
    assert (company.city, user.first_name, user.language) == ("Köln", "Dora", "de")
    db.session.refresh(req)
    assert req.state == "approved" and req.decided_by_id == staff_user.id and req.company_id == company.id
    # the password is nowhere to be seen again
    assert password not in staff_client.get(f"/backend/registrations/show/{req.id}").get_data(as_text=True)
    # and it works
    fresh = app.test_client()
    response = login(fresh, "dora@delta.example", password)
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_reject_creates_nothing(staff_client):
    req = make_request()
    companies, users = count(Company), count(PortalUser)
    response = staff_client.post(f"/backend/registrations/{req.id}/reject")
    assert response.status_code == 302
    db.session.refresh(req)
    assert req.state == "rejected" and req.decided_at is not None
    assert (count(Company), count(PortalUser)) == (companies, users)


def test_a_decided_request_cannot_be_decided_again(staff_client):
    req = make_request()
    staff_client.post(f"/backend/registrations/{req.id}/reject")
    companies = count(Company)
    page = staff_client.post(f"/backend/registrations/{req.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "already been decided" in page or "bereits entschieden" in page
    assert count(Company) == companies
    db.session.refresh(req)
    assert req.state == "rejected"


def test_approving_an_email_that_already_has_an_account_creates_nothing(staff_client, company_a):
    make_user(company_a, email="dora@delta.example")
    req = make_request(email="Dora@Delta.example")
    companies = count(Company)
    page = staff_client.post(f"/backend/registrations/{req.id}/approve", follow_redirects=True).get_data(as_text=True)
    assert "already an account" in page or "bereits ein Konto" in page
    assert count(Company) == companies
    db.session.refresh(req)
    assert req.state == "pending"


def test_decisions_need_post_and_staff(customer_client, staff_client):
    req = make_request()
    assert staff_client.get(f"/backend/registrations/{req.id}/approve").status_code == 405
    assert customer_client.post(f"/backend/registrations/{req.id}/approve").status_code == 403
    db.session.refresh(req)
    assert req.state == "pending"


def test_demo_companies_approved_registrations_and_staff_added_companies_share_one_numbering(app, staff_client):
    from app.seed import load_demo_data

    assert load_demo_data()
    demo = sorted(db.session.scalars(select(Company.customer_number)))
    assert demo == ["KD-10001", "KD-10002"]
    staff_client.post(f"/backend/registrations/{make_request().id}/approve")
    approved = db.session.scalars(select(Company).where(Company.name == "Delta Diagnostik AG")).one()
    assert approved.customer_number == "KD-10003"
    staff_client.post("/backend/companies/add", data={"customer_number": "", "name": "Gamma GmbH", "active": "y"})
    assert db.session.scalars(select(Company).where(Company.name == "Gamma GmbH")).one().customer_number == "KD-10004"


def test_an_installation_numbered_from_one_continues_at_the_start_of_the_one_numbering(app, staff_client):
    from app.models import Counter

    db.session.add(Counter(name="customer", value=3))  # numbers KD-00001..3 handed out before
    db.session.commit()
    staff_client.post(f"/backend/registrations/{make_request().id}/approve")
    approved = db.session.scalars(select(Company).where(Company.name == "Delta Diagnostik AG")).one()
    assert approved.customer_number == "KD-10001"
