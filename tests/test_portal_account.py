"""My data, employees and registration in the portal."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app import create_app
from app.extensions import db
from app.models import PortalUser, RegistrationRequest
from app.security import roles
from tests.conftest import login
from tests.factories import PASSWORD, make_order
from tests.helpers import text


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def error_at(html: str, field_id: str) -> str:
    """The message shown next to a field ('' when there is none)."""
    match = re.search(rf'id="{field_id}-error">([^<]*)<', html)
    return match.group(1) if match else ""


# -- my data --------------------------------------------------------------------

def test_my_data_shows_personal_data_and_company_read_only(customer_client, customer_a, company_a):
    html = customer_client.get("/cc/my-data/").get_data(as_text=True)
    assert customer_a.email in html and company_a.name in html and company_a.customer_number in html
    assert 'name="email"' not in html and 'name="name"' not in html  # nothing of them is editable
    assert 'name="first_name"' in html


def test_save_personal_data(customer_client, customer_a):
    response = customer_client.post("/cc/my-data/personal", data={
        "first_name": " Erika ", "last_name": "Mustermann", "phone": "+49 30 999"})
    assert response.status_code == 302
    db.session.refresh(customer_a)
    assert (customer_a.first_name, customer_a.last_name, customer_a.phone) == ("Erika", "Mustermann", "+49 30 999")


def test_personal_data_needs_names(customer_client, customer_a):
    before = customer_a.first_name
    response = customer_client.post("/cc/my-data/personal", data={"first_name": "", "last_name": "X"})
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), "first_name")
    db.session.refresh(customer_a)
    assert customer_a.first_name == before


@pytest.mark.parametrize("current,new,repeat,field", [
    ("wrong-password", "Neues-Passwort-2026", "Neues-Passwort-2026", "current_password"),
    (PASSWORD, "kurz1", "kurz1", "new_password"),
    (PASSWORD, "Sommer2024!", "Sommer2024!", "new_password"),
    (PASSWORD, "Neues-Passwort-2026", "Anderes-Passwort-2026", "repeat_password"),
    ("", "Neues-Passwort-2026", "Neues-Passwort-2026", "current_password"),
])
def test_bad_password_change_is_refused_at_the_field(customer_client, customer_a, current, new, repeat, field):
    response = customer_client.post("/cc/my-data/password", data={
        "current_password": current, "new_password": new, "repeat_password": repeat})
    assert response.status_code == 422
    assert error_at(response.get_data(as_text=True), field)
    db.session.refresh(customer_a)
    assert check_password_hash(customer_a.password, PASSWORD)


def test_password_change_works_for_the_next_login(app, customer_client, customer_a):
    response = customer_client.post("/cc/my-data/password", data={
        "current_password": PASSWORD, "new_password": "Neues-Passwort-2026", "repeat_password": "Neues-Passwort-2026"})
    assert response.status_code == 302
    assert login(app.test_client(), customer_a.email, PASSWORD).headers["Location"].startswith("/login")
    assert "/login" not in login(app.test_client(), customer_a.email, "Neues-Passwort-2026").headers["Location"]


def test_settings_take_effect_on_the_next_page(customer_client, customer_a, company_a):
    for _ in range(12):
        make_order(company_a, customer_a)
    response = customer_client.post("/cc/my-data/settings", data={"language": "en", "page_size": "10"})
    assert response.status_code == 302
    db.session.refresh(customer_a)
    assert (customer_a.language, customer_a.page_size) == ("en", 10)
    page = customer_client.get("/cc/orders/").get_data(as_text=True)
    assert page.count('class="order-row"') == 10
    assert "Orders" in text(customer_client.get("/cc/orders/"))
    customer_client.post("/cc/my-data/settings", data={"language": "de", "page_size": "25"})
    assert customer_client.get("/cc/orders/").get_data(as_text=True).count('class="order-row"') == 12


def test_settings_refuse_values_outside_the_choices(customer_client, customer_a):
    response = customer_client.post("/cc/my-data/settings", data={"language": "fr", "page_size": "1000"})
    assert response.status_code == 422
    db.session.refresh(customer_a)
    assert (customer_a.language, customer_a.page_size) == ("de", 25)


def test_my_data_offers_employees_only_to_company_admins(customer_client, company_admin_client):
    assert "/cc/employees/" not in customer_client.get("/cc/my-data/").get_data(as_text=True)
    assert "/cc/employees/" in company_admin_client.get("/cc/my-data/").get_data(as_text=True)


# -- employees ------------------------------------------------------------------

def test_employees_lists_only_the_own_company(company_admin_client, customer_a, customer_b, staff_user):
    html = company_admin_client.get("/cc/employees/").get_data(as_text=True)
    assert customer_a.email in html
    assert customer_b.email not in html and staff_user.email not in html


def test_customers_cannot_manage_employees(customer_client, company_admin_a):
    assert customer_client.get("/cc/employees/").status_code == 403
    assert customer_client.post(f"/cc/employees/{company_admin_a.id}/deactivate").status_code == 403
    db.session.refresh(company_admin_a)
    assert company_admin_a.active


def test_new_employee_gets_access_data_once_and_can_log_in(app, company_admin_client, company_a):
    response = company_admin_client.post("/cc/employees/new", data={
        "first_name": "Max", "last_name": "Neu", "email": "Max.Neu@Alpha.example"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    password = re.search(r'id="access-password">([^<]+)<', html).group(1)
    assert "max.neu@alpha.example" in html
    user = db.session.scalars(select(PortalUser).where(PortalUser.email == "max.neu@alpha.example")).one()
    assert user.company_id == company_a.id and [r.name for r in user.roles] == [roles.CUSTOMER]
    assert password not in company_admin_client.get("/cc/employees/").get_data(as_text=True)
    fresh = app.test_client()
    assert "/login" not in login(fresh, "max.neu@alpha.example", password).headers["Location"]


@pytest.mark.parametrize("email", ["employee@beta.example", "EMPLOYEE@BETA.example", "staff@example.org"])
def test_new_employee_email_must_be_unique_across_the_system(company_admin_client, customer_b, staff_user, email):
    users = count(PortalUser)
    response = company_admin_client.post("/cc/employees/new", data={
        "first_name": "X", "last_name": "Y", "email": email})
    assert response.status_code == 422
    assert error_at(response.get_data(as_text=True), "email")
    assert count(PortalUser) == users


@pytest.mark.parametrize("data,field", [
    ({"first_name": "", "last_name": "Y", "email": "a@b.example"}, "first_name"),
    ({"first_name": "X", "last_name": "Y", "email": "not-an-email"}, "email"),
])
def test_new_employee_bad_input(company_admin_client, data, field):
    users = count(PortalUser)
    response = company_admin_client.post("/cc/employees/new", data=data)
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), field)
    assert count(PortalUser) == users


def test_deactivated_employee_is_logged_out_and_cannot_log_in(app, company_admin_client, customer_a, customer_client):
    assert customer_client.get("/cc/orders/").status_code == 200
    response = company_admin_client.post(f"/cc/employees/{customer_a.id}/deactivate")
    assert response.status_code == 302
    db.session.refresh(customer_a)
    assert customer_a.active is False
    stale = customer_client.get("/cc/orders/")
    assert stale.status_code == 302 and "/login" in stale.headers["Location"]
    assert "/login" in login(app.test_client(), customer_a.email).headers["Location"]
    company_admin_client.post(f"/cc/employees/{customer_a.id}/activate")
    assert "/login" not in login(app.test_client(), customer_a.email).headers["Location"]


def test_company_admin_cannot_deactivate_themselves(company_admin_client, company_admin_a):
    page = text(company_admin_client.post(f"/cc/employees/{company_admin_a.id}/deactivate", follow_redirects=True))
    assert "yourself" in page or "selbst" in page
    db.session.refresh(company_admin_a)
    assert company_admin_a.active


@pytest.mark.parametrize("target", ["customer_b", "company_admin_b", "staff_user"])
@pytest.mark.parametrize("action", ["deactivate", "activate"])
def test_company_admin_cannot_touch_other_companies_or_staff(request, company_admin_client, target, action):
    user = request.getfixturevalue(target)
    before = user.active
    assert company_admin_client.post(f"/cc/employees/{user.id}/{action}").status_code == 404
    db.session.refresh(user)
    assert user.active == before


def test_deactivating_needs_post(company_admin_client, customer_a):
    assert company_admin_client.get(f"/cc/employees/{customer_a.id}/deactivate").status_code == 405
    db.session.refresh(customer_a)
    assert customer_a.active


# -- registration ---------------------------------------------------------------

REGISTRATION = {
    "company_name": "Epsilon Elektronik KG", "street": "Am Markt 1", "postcode": "04109", "city": "Leipzig",
    "country": "Deutschland", "first_name": "Eva", "last_name": "Engel", "email": "Eva.Engel@Epsilon.example",
    "phone": "0341 123", "message": "Wir möchten Geräte zur Reparatur senden.",
}


def test_registration_creates_a_pending_request_and_no_account(client):
    users = count(PortalUser)
    response = client.post("/cc/register/", data=REGISTRATION)
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Thank you" in page or "Vielen Dank" in page
    req = db.session.scalars(select(RegistrationRequest)).one()
    assert (req.state, req.email, req.company_name, req.city) == ("pending", "eva.engel@epsilon.example",
                                                                  "Epsilon Elektronik KG", "Leipzig")
    assert count(PortalUser) == users


@pytest.mark.parametrize("field", ["company_name", "street", "postcode", "city", "first_name", "last_name", "email",
                                   "phone"])
def test_registration_needs_each_required_field(client, field):
    response = client.post("/cc/register/", data={**REGISTRATION, field: ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_at(html, field)
    assert "Epsilon" in html or field == "company_name"  # what was typed stays
    assert count(RegistrationRequest) == 0


def test_registration_refuses_an_email_with_an_account_or_a_pending_request(client, customer_a):
    response = client.post("/cc/register/", data={**REGISTRATION, "email": customer_a.email.upper()})
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), "email")
    client.post("/cc/register/", data=REGISTRATION)
    response = client.post("/cc/register/", data=REGISTRATION)
    assert response.status_code == 422 and error_at(response.get_data(as_text=True), "email")
    assert count(RegistrationRequest) == 1


def test_registration_honeypot_stores_nothing(client):
    response = client.post("/cc/register/", data={**REGISTRATION, "website": "http://spam.example"})
    assert response.status_code == 302  # the bot sees success
    assert count(RegistrationRequest) == 0


def test_registration_is_rate_limited(tmp_path, database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_DIR": str(tmp_path / "i"),
                      "UPLOAD_FOLDER": str(tmp_path / "u"), "SECRET_KEY": "x", "RATELIMIT_ENABLED": True,
                      "REGISTER_RATE_LIMIT": "3 per hour"})
    c = app.test_client()
    codes = [c.post("/cc/register/", data={**REGISTRATION, "email": f"n{i}@x.example"}).status_code for i in range(5)]
    assert codes[:3] == [302, 302, 302] and codes[3:] == [429, 429]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistrationRequest)) == 3
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
