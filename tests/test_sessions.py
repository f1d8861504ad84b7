"""Sessions that end: a password change, a password set by link, deactivation, an Admin's reset and
"Log out everywhere" end every other session of that user at its next request (cookie sessions and
JWTs); the session that did it stays logged in; other users' sessions are untouched."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, PortalUser
from app.security import roles
from app.security.sessions import SESSION_KEY
from app.security.tokens import make_token
from app.services import audit
from tests.conftest import _client_for
from tests.factories import PASSWORD, make_user
from tests.helpers import text

NEW_PASSWORD = "Qz7!vLmR-tw93-Kpx"
ENDED_DE = "Ihre Sitzung wurde beendet: Ihr Passwort wurde geändert oder Sie haben sich überall abgemeldet."
ENDED_EN = "Your session has ended: your password was changed or you logged out everywhere."


def logged_in(client) -> bool:
    """Whether the client's session still opens a page only a logged-in user reaches."""
    response = client.get("/cc/my-data/")
    return response.status_code == 200 and 'id="my-email"' in response.get_data(as_text=True)


def assert_sent_to_login_with_message(client, message=ENDED_DE):
    response = client.get("/cc/orders/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    page = text(client.get(response.headers["Location"]))
    assert message in page
    assert "Zugriff verweigert" not in page and "Access is Denied" not in page  # one reason, not two
    assert not logged_in(client)
    # told once: the next look at the login page no longer says it
    assert message not in text(client.get("/login/"))


def version_of(user) -> int:
    db.session.expire_all()
    return db.session.get(PortalUser, user.id).session_version


@pytest.fixture
def two_clients(app, customer_a):
    """Two browsers logged in as the same user."""
    first, second = _client_for(app, customer_a), _client_for(app, customer_a)
    assert logged_in(first) and logged_in(second)
    return first, second


@pytest.fixture
def bystanders(app, company_admin_a, customer_b):
    """Sessions of other users (same company and another company) that must go on."""
    clients = [_client_for(app, company_admin_a), _client_for(app, customer_b)]
    assert all(logged_in(c) for c in clients)
    return clients


def test_a_password_change_in_my_data_ends_the_other_session(app, two_clients, bystanders, customer_a):
    first, second = two_clients
    response = first.post("/cc/my-data/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert "Ihr Passwort wurde geändert." in text(first.get(response.headers["Location"]))
    assert_sent_to_login_with_message(second)
    assert logged_in(first)
    assert all(logged_in(c) for c in bystanders)
    assert version_of(customer_a) == 1


def test_a_refused_password_change_ends_no_session(app, two_clients, customer_a):
    first, second = two_clients
    response = first.post("/cc/my-data/password", data={
        "current_password": "wrong", "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 422
    assert logged_in(second) and logged_in(first)
    assert version_of(customer_a) == 0


def test_a_password_set_by_link_ends_every_other_session(app, two_clients, bystanders, customer_a):
    first, second = two_clients
    anonymous = app.test_client()
    response = anonymous.post(f"/cc/set-password/{make_token(customer_a)}",
                              data={"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert_sent_to_login_with_message(first)
    assert_sent_to_login_with_message(second)
    assert all(logged_in(c) for c in bystanders)
    # the new password opens a new session that lasts
    assert logged_in(_client_for_password(app, customer_a.email, NEW_PASSWORD))


def test_the_link_used_in_a_logged_in_browser_keeps_that_session(app, two_clients, customer_a):
    first, second = two_clients
    response = first.post(f"/cc/set-password/{make_token(customer_a)}",
                          data={"new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert_sent_to_login_with_message(second)
    assert logged_in(first)


def _client_for_password(app, email, password):
    from tests.conftest import login

    client = app.test_client()
    response = login(client, email, password)
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    return client


def test_deactivated_and_reactivated_by_the_company_admin_the_old_sessions_stay_ended(
        app, two_clients, company_admin_client, customer_b, customer_a):
    first, second = two_clients
    other = _client_for(app, customer_b)
    assert company_admin_client.post(f"/cc/employees/{customer_a.id}/deactivate").status_code == 302
    # while deactivated, the reason is the deactivation
    assert_sent_to_login_with_message(first, "deaktiviert")
    assert company_admin_client.post(f"/cc/employees/{customer_a.id}/activate").status_code == 302
    # reactivated before the other browser came back: its session stays ended all the same
    assert_sent_to_login_with_message(second)
    assert logged_in(company_admin_client) and logged_in(other)
    assert logged_in(_client_for(app, customer_a))


def test_staff_deactivating_a_user_ends_their_sessions_for_good(app, two_clients, staff_client, customer_a,
                                                                company_admin_client):
    first, second = two_clients
    response = staff_client.post(f"/backend/company-users/edit/{customer_a.id}", data={
        "first_name": customer_a.first_name, "last_name": customer_a.last_name, "phone": ""})
    assert response.status_code == 302
    assert version_of(customer_a) == 1
    db.session.get(PortalUser, customer_a.id).active = True  # reactivated before the browsers come back
    db.session.commit()
    assert_sent_to_login_with_message(first)
    assert_sent_to_login_with_message(second)
    assert logged_in(company_admin_client) and logged_in(staff_client)


def test_staff_deactivating_a_company_ends_the_sessions_of_all_its_users(app, two_clients, staff_client,
                                                                         company_a, customer_b, company_admin_a):
    first, second = two_clients
    other_company = _client_for(app, customer_b)
    admin_a = _client_for(app, company_admin_a)
    response = staff_client.post(f"/backend/companies/edit/{company_a.id}", data={
        "customer_number": company_a.customer_number, "name": company_a.name})
    assert response.status_code == 302
    db.session.expire_all()
    assert company_a.active is False
    company_a.active = True
    db.session.commit()
    for client in (first, second, admin_a):
        assert_sent_to_login_with_message(client)
    assert logged_in(other_company) and logged_in(staff_client)
    assert version_of(customer_b) == 0


def test_log_out_everywhere_ends_every_other_session_and_is_audited(app, two_clients, bystanders, customer_a):
    first, second = two_clients
    page = text(first.get("/cc/my-data/?tab=password"))
    assert "Überall abmelden" in page
    response = first.post("/cc/my-data/log-out-everywhere")
    assert response.status_code == 302
    assert "Sie wurden auf allen anderen Geräten abgemeldet." in text(first.get(response.headers["Location"]))
    assert_sent_to_login_with_message(second)
    assert logged_in(first)
    assert all(logged_in(c) for c in bystanders)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == audit.SESSIONS_ENDED)).one()
    assert event.actor_id == customer_a.id and event.object_id == customer_a.id
    assert event.company_id == customer_a.company_id
    # a second time: the first browser goes on again, a new login is not touched by the old button
    third = _client_for(app, customer_a)
    assert first.post("/cc/my-data/log-out-everywhere").status_code == 302
    assert logged_in(first)
    assert_sent_to_login_with_message(third)


def test_log_out_everywhere_speaks_the_users_language(app, company_a):
    user = make_user(company_a, roles.CUSTOMER, email="english@alpha.example", language="en")
    first, second = _client_for(app, user), _client_for(app, user)
    response = first.post("/cc/my-data/log-out-everywhere", follow_redirects=True)
    assert "You were logged out on every other device." in text(response)
    assert_sent_to_login_with_message(second, ENDED_EN)


def test_log_out_everywhere_is_a_post_only(app, customer_client, customer_a):
    assert customer_client.get("/cc/my-data/log-out-everywhere").status_code == 405
    assert version_of(customer_a) == 0


def test_log_out_everywhere_needs_the_csrf_token(app, customer_a):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    import re

    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    assert client.post("/login/", data={"username": customer_a.email, "password": PASSWORD,
                                        "csrf_token": token}).status_code == 302
    other = client.post("/cc/my-data/log-out-everywhere")
    assert other.status_code == 400
    assert version_of(customer_a) == 0


def test_an_anonymous_visitor_cannot_log_anybody_out(app, client, customer_client, customer_a):
    response = client.post("/cc/my-data/log-out-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert version_of(customer_a) == 0 and logged_in(customer_client)


def test_a_session_from_before_the_version_stays_valid_until_the_version_goes_up(app, two_clients, customer_a):
    first, second = two_clients
    with second.session_transaction() as session:
        session.pop(SESSION_KEY)  # logged in before sessions carried a version
        assert "_user_id" in session
    assert logged_in(second)
    assert first.post("/cc/my-data/log-out-everywhere").status_code == 302
    assert_sent_to_login_with_message(second)


def test_an_admins_password_reset_ends_the_users_sessions(app, two_clients, customer_a):
    admin = make_user(None, roles.ADMIN, email="root@repair.example")
    admin_client = _client_for(app, admin)
    response = admin_client.post(f"/resetpassword/form?pk={customer_a.id}",
                                 data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
    assert response.status_code == 302
    for client in two_clients:
        assert_sent_to_login_with_message(client)
    assert logged_in(admin_client)
    assert version_of(admin) == 0


def _jwt(client, email, password=PASSWORD):
    response = client.post("/api/v1/security/login",
                           json={"username": email, "password": password, "provider": "db", "refresh": True})
    assert response.status_code == 200
    return response.get_json()


def test_a_jwt_from_before_gets_401_after_log_out_everywhere(app, customer_client, customer_a, customer_b):
    api = app.test_client()
    tokens = _jwt(api, customer_a.email)
    other = _jwt(api, customer_b.email)["access_token"]
    bearer = {"Authorization": "Bearer " + tokens["access_token"]}
    assert api.get("/api/v1/orders/", headers=bearer).status_code == 200
    assert customer_client.post("/cc/my-data/log-out-everywhere").status_code == 302
    response = api.get("/api/v1/orders/", headers=bearer)
    assert response.status_code == 401 and response.get_json() == {"message": "Token has been revoked"}
    refresh = api.post("/api/v1/security/refresh", headers={"Authorization": "Bearer " + tokens["refresh_token"]})
    assert refresh.status_code == 401
    # a new login works, and so does another user's token
    fresh = _jwt(api, customer_a.email)
    assert api.get("/api/v1/orders/", headers={"Authorization": "Bearer " + fresh["access_token"]}).status_code == 200
    assert api.get("/api/v1/orders/", headers={"Authorization": "Bearer " + other}).status_code == 200
    renewed = api.post("/api/v1/security/refresh", headers={"Authorization": "Bearer " + fresh["refresh_token"]})
    assert renewed.status_code == 200
    access = renewed.get_json()["access_token"]
    assert api.get("/api/v1/orders/", headers={"Authorization": "Bearer " + access}).status_code == 200


def test_a_jwt_without_a_version_counts_as_version_0(app, customer_a):
    api = app.test_client()
    legacy = _legacy_token(app, customer_a)
    assert api.get("/api/v1/orders/", headers={"Authorization": "Bearer " + legacy}).status_code == 200
    customer_a.session_version = 1
    db.session.commit()
    assert api.get("/api/v1/orders/", headers={"Authorization": "Bearer " + legacy}).status_code == 401


def _legacy_token(app, user) -> str:
    """A token as FAB made it before the version claim (signed with the app's key)."""
    import jwt

    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    return jwt.encode({"sub": str(user.id), "type": "access", "fresh": True, "iat": now, "nbf": now,
                       "jti": "legacy", "exp": now + timedelta(minutes=10)},
                      app.config.get("JWT_SECRET_KEY") or app.config["SECRET_KEY"], algorithm="HS256")


def test_an_admin_deactivating_a_user_in_fabs_user_admin_ends_their_sessions(app, two_clients, customer_a):
    admin = make_user(None, roles.ADMIN, email="root@repair.example")
    admin_client = _client_for(app, admin)
    role = db.session.scalars(select(PortalUser).where(PortalUser.id == customer_a.id)).one().roles[0]
    response = admin_client.post(f"/users/edit/{customer_a.id}", data={
        "first_name": customer_a.first_name, "last_name": customer_a.last_name, "email": customer_a.email,
        "company": str(customer_a.company_id), "language": "de", "page_size": "25", "roles": [str(role.id)]})
    assert response.status_code == 302
    assert version_of(customer_a) == 1
    db.session.get(PortalUser, customer_a.id).active = True
    db.session.commit()
    for client in two_clients:
        assert_sent_to_login_with_message(client)
    assert logged_in(admin_client)


def test_password_changes_are_audited_without_values_and_a_reset_of_no_user_is_404(app, customer_a,
                                                                                      customer_client):
    response = customer_client.post("/cc/my-data/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 302
    admin = make_user(None, roles.ADMIN, email="root2@repair.example")
    admin_client = _client_for(app, admin)
    assert admin_client.post(f"/resetpassword/form?pk={customer_a.id}",
                             data={"password": NEW_PASSWORD + "x", "conf_password": NEW_PASSWORD + "x"}).status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == audit.PASSWORD_CHANGED)
                                .order_by(AuditEvent.id)).all()
    assert [(e.object_id, e.actor_id) for e in events] == [(customer_a.id, customer_a.id), (customer_a.id, admin.id)]
    assert all(e.old_values is None and e.new_values is None for e in events)
    for pk in ("abc", "99999999"):
        response = admin_client.post(f"/resetpassword/form?pk={pk}",
                                     data={"password": NEW_PASSWORD, "conf_password": NEW_PASSWORD})
        assert response.status_code == 404, pk


def test_the_admins_reset_form_says_the_rule_the_portal_checks(app):
    admin = make_user(None, roles.ADMIN, email="root3@repair.example")
    page = _client_for(app, admin).get("/resetpassword/form?pk=1").get_data(as_text=True)
    assert "das Portal prüft das" in page and "does not check this for you" not in page
