"""Two-factor login (Zwei-Faktor-Anmeldung): setting it up with a QR code, logging in with a code or a
recovery code (each accepted once), a company's requirement, staff's requirement, limits, the API login,
a staff reset, and that no company reaches another's second factor."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent, OutgoingMail, PortalUser, RecoveryCode
from app.services import audit, two_factor
from tests.conftest import _app_config, _client_for, login
from tests.factories import PASSWORD, make_user
from tests.helpers import text


def code_now(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def secret_on_page(page: str) -> str:
    match = re.search(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', page)
    assert match, "the key to type is on the page"
    return match.group(1).replace(" ", "")


def set_up(client) -> tuple[str, list[str]]:
    """Turn two-factor login on through My data; the secret and the recovery codes shown."""
    page = client.get("/cc/my-data/?tab=two-factor").get_data(as_text=True)
    secret = secret_on_page(page)
    response = client.post("/cc/my-data/two-factor/confirm", data={"code": code_now(secret)})
    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>", response.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def enable_for(user) -> str:
    """Two-factor login on for ``user`` (service level); returns the secret."""
    secret = two_factor.new_secret()
    earlier = time.time() - 120  # confirmed with a code of a step no login will use
    two_factor.enable(user, secret, pyotp.TOTP(secret).at(earlier), now=earlier)
    db.session.commit()
    return secret


def password_step(client, email, password=PASSWORD, next_url=None):
    return client.post("/login/" + (f"?next={next_url}" if next_url else ""),
                       data={"username": email, "password": password})


def logged_in(client) -> bool:
    response = client.get("/cc/my-data/")
    return response.status_code == 200 and 'id="my-email"' in response.get_data(as_text=True)


# -- setting it up ------------------------------------------------------------------------------
def test_a_user_sets_it_up_with_the_qr_code_and_gets_recovery_codes_once(app, customer_client, customer_a):
    page = customer_client.get("/cc/my-data/?tab=two-factor")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<svg role="img"' in body and "QR-Code für Ihre Authenticator-App" in body  # drawn here, named
    assert "http" not in body.split('id="two-factor-qr"')[1].split("</svg>")[0]  # no outside service
    secret = secret_on_page(body)
    assert customer_client.get("/cc/my-data/?tab=two-factor").get_data(as_text=True).count(
        " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))) == 1  # the same key until confirmed

    wrong = customer_client.post("/cc/my-data/two-factor/confirm", data={"code": "000000"})
    assert wrong.status_code == 422 and "Dieser Code passt nicht" in text(wrong)
    db.session.refresh(customer_a)
    assert not two_factor.is_enabled(customer_a) and customer_a.totp_secret is None

    response = customer_client.post("/cc/my-data/two-factor/confirm", data={"code": code_now(secret)})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z0-9-]{19})</code>", response.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    db.session.refresh(customer_a)
    assert two_factor.is_enabled(customer_a) and customer_a.totp_secret == secret
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == customer_a.id)).all()
    assert len(stored) == 10 and not set(stored) & {c.replace("-", "") for c in codes}  # hashes only
    tab = text(customer_client.get("/cc/my-data/?tab=two-factor"))
    assert "Verbleibende Wiederherstellungscodes: 10" in tab and codes[0] not in tab  # shown once
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == customer_a.id)).all() \
        .count(audit.TWO_FACTOR_ENABLED) == 1


def test_show_a_new_key_replaces_the_one_not_yet_confirmed(app, customer_client, customer_a):
    first = secret_on_page(customer_client.get("/cc/my-data/?tab=two-factor").get_data(as_text=True))
    response = customer_client.post("/cc/my-data/two-factor/restart")
    assert response.status_code == 302
    second = secret_on_page(customer_client.get("/cc/my-data/?tab=two-factor").get_data(as_text=True))
    assert second != first
    # the app set up with the first key no longer confirms
    assert customer_client.post("/cc/my-data/two-factor/confirm", data={"code": code_now(first)}).status_code == 422
    assert customer_client.post("/cc/my-data/two-factor/confirm", data={"code": code_now(second)}).status_code == 200


def test_login_asks_for_the_code_after_the_password_and_accepts_each_code_once(app, customer_client, customer_a):
    secret, _codes = set_up(customer_client)
    c = app.test_client()
    response = password_step(c, customer_a.email, next_url="/cc/orders/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code/")
    assert not logged_in(c)  # the password alone logs nobody in
    page = c.get("/login/code/")
    assert page.status_code == 200 and "Anmeldecode" in text(page)

    wrong = c.post("/login/code/", data={"code": "123456" if code_now(secret) != "123456" else "654321"})
    assert wrong.status_code == 422 and "Dieser Code ist falsch oder wurde schon verwendet" in text(wrong)
    assert not logged_in(c)
    code = code_now(secret, 1)  # one step ahead: a phone's clock a little fast
    response = c.post("/login/code/", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"].endswith("/cc/orders/")
    assert logged_in(c)

    other = app.test_client()  # the same code again, seen over a shoulder: refused
    password_step(other, customer_a.email)
    assert other.post("/login/code/", data={"code": code}).status_code == 422
    assert not logged_in(other)


def test_a_code_two_steps_off_is_refused_and_one_step_is_accepted(app, customer_a):
    secret = enable_for(customer_a)
    totp = pyotp.TOTP(secret)
    now = time.time()
    assert two_factor.check(customer_a, totp.at(now - 60), now=now) is None  # two steps back
    assert two_factor.check(customer_a, totp.at(now - 30), now=now) == two_factor.TOTP
    assert two_factor.check(customer_a, totp.at(now - 30), now=now) is None  # used
    assert two_factor.check(customer_a, totp.at(now - 60), now=now) is None  # older than the last one


def test_a_recovery_code_logs_in_once(app, customer_client, customer_a):
    _secret, codes = set_up(customer_client)
    c = app.test_client()
    password_step(c, customer_a.email)
    response = c.post("/login/code/", data={"code": codes[3].upper().replace("-", " ")}, follow_redirects=True)
    assert "Sie haben sich mit einem Wiederherstellungscode angemeldet" in text(response)
    assert "Verbleibende Wiederherstellungscodes: 9" in text(response)
    assert logged_in(c)
    again = app.test_client()
    password_step(again, customer_a.email)
    assert again.post("/login/code/", data={"code": codes[3]}).status_code == 422
    assert not logged_in(again)
    assert audit.RECOVERY_CODE_USED in db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == customer_a.id)).all()


def test_the_code_step_without_a_password_or_after_its_time_leads_back_to_the_login(app, customer_a):
    enable_for(customer_a)
    c = app.test_client()
    response = c.get("/login/code/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/")
    password_step(c, customer_a.email)
    with c.session_transaction() as session:
        session["_two_factor_login"] = {**session["_two_factor_login"], "until": int(time.time()) - 1}
    response = c.post("/login/code/", data={"code": "123456"}, follow_redirects=True)
    assert "Die Zeit für den Code ist abgelaufen" in text(response) and not logged_in(c)


def test_users_without_it_log_in_with_the_password_as_before(app, customer_a, customer_b):
    enable_for(customer_a)
    c = app.test_client()
    assert login(c, customer_b.email).headers["Location"].endswith("/")  # not to the code step
    assert logged_in(c)


# -- turning it off, new recovery codes ---------------------------------------------------------
def test_turning_it_off_needs_the_password_and_a_code(app, customer_client, customer_a):
    secret, _codes = set_up(customer_client)
    response = customer_client.post("/cc/my-data/two-factor/off",
                                     data={"current_password": "wrong", "code": code_now(secret, 1)})
    assert response.status_code == 422 and "Das aktuelle Passwort ist falsch" in text(response)
    db.session.refresh(customer_a)
    assert two_factor.is_enabled(customer_a)
    response = customer_client.post("/cc/my-data/two-factor/off",
                                    data={"current_password": PASSWORD, "code": code_now(secret, 1)},
                                    follow_redirects=True)
    assert "Die Zwei-Faktor-Anmeldung ist ausgeschaltet" in text(response)
    db.session.refresh(customer_a)
    assert not two_factor.is_enabled(customer_a) and customer_a.totp_secret is None
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == customer_a.id)).all() == []
    c = app.test_client()
    assert login(c, customer_a.email).status_code == 302 and logged_in(c)


def test_new_recovery_codes_replace_the_old_ones(app, customer_client, customer_a):
    secret, old = set_up(customer_client)
    response = customer_client.post("/cc/my-data/two-factor/recovery-codes", data={"code": code_now(secret, 1)})
    new = re.findall(r"<code>([a-z0-9-]{19})</code>", response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    c = app.test_client()
    password_step(c, customer_a.email)
    assert c.post("/login/code/", data={"code": old[0]}).status_code == 422
    assert c.post("/login/code/", data={"code": new[0]}).status_code == 302


# -- who must have it ---------------------------------------------------------------------------
def test_a_company_admin_requires_it_and_each_user_is_led_to_set_it_up(
        app, company_admin_client, customer_a, company_a, customer_b):
    response = company_admin_client.post("/cc/employees/two-factor", data={"require_two_factor": "y"},
                                         follow_redirects=True)
    assert "jetzt für alle Benutzer Ihrer Firma vorgeschrieben" in text(response)
    db.session.refresh(company_a)
    assert company_a.require_two_factor
    employee = _client_for(app, customer_a)
    for url in ("/cc/orders/", "/cc/orders/new", "/cc/devices/"):
        response = employee.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/cc/my-data/?tab=two-factor")
    page = employee.get("/cc/my-data/?tab=two-factor", follow_redirects=True)
    assert "Für Ihr Konto ist die Zwei-Faktor-Anmeldung vorgeschrieben" in text(page)
    secret = secret_on_page(page.get_data(as_text=True))
    employee.post("/cc/my-data/two-factor/confirm", data={"code": code_now(secret)})
    assert employee.get("/cc/orders/").status_code == 200
    # required: it cannot be turned off
    response = employee.post("/cc/my-data/two-factor/off", data={"current_password": PASSWORD,
                                                                 "code": code_now(secret, 1)})
    assert response.status_code == 409
    db.session.refresh(customer_a)
    assert two_factor.is_enabled(customer_a)
    # another company's users are not touched
    other = _client_for(app, customer_b)
    assert other.get("/cc/orders/").status_code == 200
    assert audit.COMPANY_TWO_FACTOR in db.session.scalars(select(AuditEvent.action)).all()


def test_the_employees_page_shows_who_has_it(app, company_admin_client, customer_a):
    enable_for(customer_a)
    page = company_admin_client.get("/cc/employees/").get_data(as_text=True)
    row = page.split(f'data-email="{customer_a.email}"')[1].split("</tr>")[0]
    assert 'class="two-factor-state">Ein<' in row


@pytest.fixture
def staff_2fa_app(tmp_path, database_url):
    app = create_app({**_app_config(tmp_path, database_url), "TWO_FACTOR_REQUIRED_FOR_STAFF": True})
    ctx = app.app_context()
    ctx.push()
    from tests.conftest import IsolatedClient
    app.test_client_class = IsolatedClient
    yield app
    db.session.remove()
    ctx.pop()


def test_staff_must_have_it_when_configured_and_by_default_in_production(staff_2fa_app):
    from config import Config, ProductionConfig

    assert ProductionConfig.TWO_FACTOR_REQUIRED_FOR_STAFF is True and Config.TWO_FACTOR_REQUIRED_FOR_STAFF is False
    from app.security import roles

    staff = make_user(None, roles.STAFF, email="staff2@example.org")
    client = _client_for(staff_2fa_app, staff)
    response = client.get("/backend/orders/list/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/cc/my-data/?tab=two-factor")
    # and no JWT until it is set up
    api = staff_2fa_app.test_client().post("/api/v1/security/login", json={
        "username": staff.email, "password": PASSWORD, "provider": "db"})
    assert api.status_code == 401 and "set up two-factor login" in api.get_json()["message"]


# -- the API login ------------------------------------------------------------------------------
def test_the_api_login_of_a_user_with_it_needs_the_code(app, client, customer_a):
    secret = enable_for(customer_a)
    body = {"username": customer_a.email, "password": PASSWORD, "provider": "db"}
    response = client.post("/api/v1/security/login", json=body)
    assert response.status_code == 401 and "code" in response.get_json()["message"]
    response = client.post("/api/v1/security/login", json={**body, "code": "12345x"})
    assert response.status_code == 401 and "wrong" in response.get_json()["message"]
    assert client.post("/api/v1/security/login", json={**body, "code": 123456}).status_code == 400
    response = client.post("/api/v1/security/login", json={**body, "code": code_now(secret, 1)})
    assert response.status_code == 200 and response.get_json()["access_token"]
    token = response.get_json()["access_token"]
    assert client.get("/api/v1/orders/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # a wrong password with a right code learns nothing about the code
    assert client.post("/api/v1/security/login", json={**body, "password": "x", "code": code_now(secret)}) \
        .status_code == 401


# -- limits ---------------------------------------------------------------------------------------
@pytest.fixture
def limited_app(tmp_path, database_url):
    app = create_app({**_app_config(tmp_path, database_url), "RATELIMIT_ENABLED": True,
                      "AUTH_RATE_LIMIT": "5 per minute", "AUTH_ADDRESS_RATE_LIMIT": "100 per minute"})
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()


def test_wrong_codes_are_limited_per_account_like_passwords(limited_app, company_a):
    user = make_user(company_a, email="guess@alpha.example")
    secret = enable_for(user)
    c = limited_app.test_client()
    assert password_step(c, user.email).headers["Location"].endswith("/login/code/")
    wrong = "000000" if code_now(secret) != "000000" else "111111"
    assert [c.post("/login/code/", data={"code": wrong}).status_code for _ in range(5)] == [422] * 5
    assert c.post("/login/code/", data={"code": code_now(secret, 1)}).status_code == 429  # even the right one
    # the account's password login is blocked too, from anywhere
    other = limited_app.test_client()
    assert other.post("/login/", data={"username": user.email, "password": PASSWORD},
                      environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 429
    # another account is not
    colleague = make_user(company_a, email="colleague@alpha.example")
    assert login(limited_app.test_client(), colleague.email).status_code == 302


def test_right_codes_never_count(limited_app, company_a):
    user = make_user(company_a, email="often@alpha.example")
    secret = enable_for(user)
    for i in range(7):  # more logins than the limit allows failures
        c = limited_app.test_client()
        password_step(c, user.email)
        # the same step's code may log in once only: let each login start afresh
        db.session.execute(PortalUser.__table__.update().where(PortalUser.id == user.id).values(totp_last_step=None))
        db.session.commit()
        assert c.post("/login/code/", data={"code": code_now(secret)}).status_code == 302, i


# -- staff reset, isolation, erasure ------------------------------------------------------------
def test_staff_reset_a_users_second_factor_audited_and_mailed(app, staff_client, customer_a):
    enable_for(customer_a)
    response = staff_client.get(f"/backend/company-users/show/{customer_a.id}")
    assert 'id="reset-two-factor-form"' in response.get_data(as_text=True)
    response = staff_client.post(f"/backend/company-users/{customer_a.id}/reset-two-factor", follow_redirects=True)
    assert "wurde zurückgesetzt" in text(response)
    db.session.refresh(customer_a)
    assert not two_factor.is_enabled(customer_a)
    assert db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == customer_a.id)).all() == []
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == audit.TWO_FACTOR_RESET)).one()
    assert event.object_id == customer_a.id and event.actor_name
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.kind == "two_factor_reset")).one()
    assert mail.recipient == customer_a.email and "zurückgesetzt" in mail.subject
    c = app.test_client()
    assert login(c, customer_a.email).status_code == 302 and logged_in(c)  # the password alone again


def test_no_company_reaches_another_companys_second_factor(app, customer_a, company_admin_b, customer_b):
    secret = enable_for(customer_a)
    for user in (company_admin_b, customer_b):
        c = _client_for(app, user)
        assert c.post(f"/backend/company-users/{customer_a.id}/reset-two-factor").status_code in (302, 403)
        # the own-data routes take no user id: they act on the caller only
        c.post("/cc/my-data/two-factor/off", data={"current_password": PASSWORD, "code": code_now(secret)})
        c.post("/cc/my-data/two-factor/recovery-codes", data={"code": code_now(secret)})
        c.post("/cc/employees/two-factor", data={"require_two_factor": "y"})
    db.session.refresh(customer_a)
    assert two_factor.is_enabled(customer_a) and customer_a.totp_secret == secret
    assert two_factor.recovery_codes_left(customer_a) == 10
    assert not customer_a.company.require_two_factor
    assert customer_b.company.require_two_factor  # B's admin changed B only


def test_erasing_a_user_removes_the_second_factor(app, staff_client, customer_a):
    enable_for(customer_a)
    from app.services import erasure

    erasure.erase_user(customer_a, None)
    db.session.refresh(customer_a)
    assert customer_a.totp_secret is None and two_factor.recovery_codes_left(customer_a) == 0


def test_the_cli_resets_a_staff_members_second_factor(app, staff_user):
    enable_for(staff_user)
    result = app.test_cli_runner().invoke(args=["portal", "reset-two-factor", staff_user.email.upper()])
    assert result.exit_code == 0 and "reset" in result.output
    db.session.refresh(staff_user)
    assert not two_factor.is_enabled(staff_user)
    result = app.test_cli_runner().invoke(args=["portal", "reset-two-factor", "nobody@example.org"])
    assert result.exit_code != 0 and "No user" in result.output
