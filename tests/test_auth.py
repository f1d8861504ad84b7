"""Login by email, refusals with clear messages, sessions that end, security views closed."""
from __future__ import annotations

import pytest

from app.extensions import db
from tests.conftest import login
from tests.factories import PASSWORD


def _follow(client, response):
    assert response.status_code == 302
    return client.get(response.headers["Location"])


def test_login_is_the_email_case_insensitive(client, customer_a):
    response = login(client, "  EMPLOYEE@Alpha.Example ")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_wrong_password_is_refused_with_a_message(client, customer_a):
    response = login(client, customer_a.email, "wrong-password")
    page = _follow(client, response).get_data(as_text=True)
    assert "Email or password is wrong" in page or "E-Mail oder Passwort" in page
    assert client.get("/backend/orders/list/").status_code == 302  # still anonymous


def test_deactivated_user_is_refused_with_a_clear_message(client, customer_a):
    customer_a.active = False
    db.session.commit()
    page = _follow(client, login(client, customer_a.email)).get_data(as_text=True)
    assert "deactivated" in page or "deaktiviert" in page


def test_deactivated_user_with_wrong_password_learns_nothing(client, customer_a):
    customer_a.active = False
    db.session.commit()
    page = _follow(client, login(client, customer_a.email, "not-the-password")).get_data(as_text=True)
    assert "deactivated" not in page and "deaktiviert" not in page


def test_user_of_inactive_company_is_refused(client, customer_a, company_a):
    company_a.active = False
    db.session.commit()
    response = login(client, customer_a.email)
    page = _follow(client, response).get_data(as_text=True)
    assert "company" in page.lower() or "firma" in page.lower()
    assert "/login" in response.headers["Location"]


def test_a_live_staff_session_ends_when_the_user_is_deactivated(app, staff_client, staff_user):
    assert staff_client.get("/backend/orders/list/").status_code == 200
    staff_user.active = False
    db.session.commit()
    response = staff_client.get("/backend/orders/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_live_session_ends_when_the_company_is_deactivated(app, customer_client, company_a):
    assert customer_client.get("/").status_code == 302
    company_a.active = False
    db.session.commit()
    response = customer_client.get("/backend/orders/list/")
    # anonymous again: sent to the login page, not a 403 of a logged-in user
    assert response.status_code == 302 and "/login" in response.headers["Location"]


SECURITY_URLS = ["/users/list/", "/users/add", "/roles/list/", "/roles/add", "/permissions/list/",
                 "/permissionviews/list/", "/groups/list/", "/resetpassword/form?pk=1", "/resetmypassword/form",
                 "/userinfoeditview/form", "/users/show/1", "/users/edit/1"]


@pytest.mark.parametrize("who", ["customer_client", "company_admin_client", "staff_client"])
@pytest.mark.parametrize("url", SECURITY_URLS)
def test_security_views_are_refused_to_portal_and_staff_roles(request, who, url):
    client = request.getfixturevalue(who)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("who", ["customer_client", "company_admin_client"])
def test_portal_roles_cannot_reach_the_backend(request, who, company_a):
    client = request.getfixturevalue(who)
    for url in ["/backend/orders/list/", "/backend/orders/add", "/backend/companies/list/",
                "/backend/company-users/list/", "/backend/statuses/list/", "/backend/registrations/list/"]:
        assert client.get(url).status_code == 403, url


def test_portal_roles_see_no_backend_or_security_menu(customer_client):
    page = customer_client.get("/login/", follow_redirects=True).get_data(as_text=True)
    for word in ("List Users", "List Roles", "Backend", "Security"):
        assert word not in page


def test_reset_password_of_another_user_is_refused_to_staff(staff_client, customer_a):
    response = staff_client.post(f"/resetpassword/form?pk={customer_a.id}",
                                 data={"password": "Hacked-123456", "conf_password": "Hacked-123456"})
    assert response.status_code == 403
    db.session.refresh(customer_a)
    from werkzeug.security import check_password_hash
    assert check_password_hash(customer_a.password, PASSWORD)


def test_anonymous_is_sent_to_login(client):
    for url in ["/", "/backend/orders/list/", "/backend/companies/list/"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_login_page_is_served_with_email_and_password(client):
    page = client.get("/login/").get_data(as_text=True)
    assert 'name="username"' in page and 'name="password"' in page and 'type="email"' in page


def test_csrf_protects_state_changing_posts(app, staff_user, company_a, customer_a):
    """With CSRF on (as in production), a POST without a token changes nothing."""
    from tests.factories import make_order

    order = make_order(company_a, customer_a)
    app.config["WTF_CSRF_ENABLED"] = True
    c = app.test_client()
    response = login(c, staff_user.email)  # no token: refused
    assert response.status_code == 400
    app.config["WTF_CSRF_ENABLED"] = False
    login(c, staff_user.email)
    app.config["WTF_CSRF_ENABLED"] = True
    before = order.status_id
    response = c.post(f"/backend/orders/{order.id}/status", data={"status_id": before + 1, "note": "x"})
    assert response.status_code == 400
    db.session.refresh(order)
    assert order.status_id == before


def test_forbidden_pages_are_friendly_and_in_the_users_language(customer_client):
    from tests.helpers import text

    response = customer_client.get("/backend/orders/list/")
    assert response.status_code == 403
    page = text(response)
    assert "Kein Zugriff" in page or "No access" in page
    assert "Forbidden" not in page


def test_nul_bytes_in_forms_are_a_bad_request_not_a_server_error(customer_client, customer_a):
    response = customer_client.post("/cc/my-data/personal", data={"first_name": "A\x00", "last_name": "B"})
    assert response.status_code == 400
    from app.extensions import db
    db.session.refresh(customer_a)
    assert "\x00" not in customer_a.first_name


def test_a_deactivated_user_is_told_why_the_session_ended(app, customer_client, customer_a):
    from tests.helpers import text

    customer_a.active = False
    db.session.commit()
    response = customer_client.get("/cc/orders/", follow_redirects=True)
    page = text(response)
    assert "deaktiviert" in page or "deactivated" in page
    assert "/login" in response.request.path


def test_the_permissions_a_request_uses_are_exactly_those_of_the_users_roles(app, customer_a, company_admin_a,
                                                                            staff_user):
    """Each request answers FAB's permission checks from one read (on PostgreSQL: in the user's own
    query); the answers must be those of the user's roles, no more and no fewer."""
    from flask import g
    from flask_appbuilder.security.sqla.models import PermissionView, assoc_permissionview_role
    from sqlalchemy import select

    sm = app.appbuilder.sm
    with app.app_context():
        every_pair = {(pv.view_menu.name, pv.permission.name) for pv in db.session.scalars(select(PermissionView))}
    for user in (customer_a, company_admin_a, staff_user):
        with app.test_request_context():
            g.pop("_portal_permissions", None)
            loaded = sm.get_user_by_id(user.id)
            role_ids = [role.id for role in loaded.roles]
            expected = {
                (pv.view_menu.name, pv.permission.name) for pv in db.session.scalars(
                    select(PermissionView).join(assoc_permissionview_role,
                                                assoc_permissionview_role.c.permission_view_id == PermissionView.id)
                    .where(assoc_permissionview_role.c.role_id.in_(role_ids)))
            }
            answered = {pair for pair in every_pair if sm.exist_permission_on_roles(*pair, role_ids)}
            assert answered == expected and expected, user.email
            assert list(g._portal_permissions) == [tuple(sorted(role_ids))]  # one read for the request
    # asked for several roles at once, or for none (the statement is built once for any number)
    with app.app_context():
        role_ids = sorted({role.id for user in (customer_a, staff_user) for role in db.session.get(
            type(customer_a), user.id).roles})
        union = {(pv.view_menu.name, pv.permission.name) for pv in db.session.scalars(
            select(PermissionView).join(assoc_permissionview_role,
                                        assoc_permissionview_role.c.permission_view_id == PermissionView.id)
            .where(assoc_permissionview_role.c.role_id.in_(role_ids)))}
    with app.test_request_context():
        assert len(role_ids) >= 2
        assert {pair for pair in every_pair if sm.exist_permission_on_roles(*pair, role_ids)} == union
        assert not [pair for pair in every_pair if sm.exist_permission_on_roles(*pair, [])]


def test_the_public_roles_permissions_are_read_once_per_request_and_exactly(app, client):
    """FAB asks whether the public role has a permission on every API call before it reads the
    caller's token. The answer comes from one read per request, and a permission staff give the
    public role counts from the next request on."""
    from flask_appbuilder.security.sqla.models import PermissionView
    from sqlalchemy import event, select

    sm = app.appbuilder.sm
    every_pair = {(pv.view_menu.name, pv.permission.name) for pv in db.session.scalars(select(PermissionView))}
    statements = []

    def count(*_args):
        statements.append(1)

    def public_answers():
        with app.app_context(), app.test_request_context():  # a request of its own, as each one is
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                return {pair for pair in every_pair if sm.is_item_public(pair[1], pair[0])}, len(statements)
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
                db.session.remove()

    assert public_answers() == (set(), 1)  # the public role has no permission: one read for every check
    public = sm.find_role(app.config["AUTH_ROLE_PUBLIC"])
    sm.add_permission_role(public, sm.find_permission_view_menu("can_info", "OrdersApi"))
    db.session.commit()
    assert public_answers() == ({("OrdersApi", "can_info")}, 1)
    assert client.get("/api/v1/orders/_info").status_code == 200  # FAB's check now lets the caller in
    sm.del_permission_role(public, sm.find_permission_view_menu("can_info", "OrdersApi"))
    db.session.commit()
    assert public_answers() == (set(), 1)
    assert client.get("/api/v1/orders/_info").status_code == 401
