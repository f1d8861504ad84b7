"""Setup: migrations, roles as data, the CLI, demo data, the login page."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from app import create_app
from app.extensions import db
from app.models import Company, Order, OrderStatus, PortalUser
from app.seed import STATUSES
from app.security import roles
from app.security.roles import ROLE_CONFIGS, SECURITY_VIEWS, apply_roles


def test_migrations_build_exactly_the_models(app):
    """The database built by `flask db upgrade` matches the declared models."""
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
    tables = set(inspect(db.engine).get_table_names())
    assert {"company", "repair_order", "order_item", "attachment", "order_status", "status_change",
            "registration_request", "ab_user", "alembic_version"} <= tables


def test_roles_hold_exactly_their_declared_permissions(app):
    sm = app.appbuilder.sm
    for name, declared in ROLE_CONFIGS.items():
        role = sm.find_role(name)
        held = {(p.permission.name, p.view_menu.name) for p in role.permissions}
        assert held == set(declared), name
    # Customer ⊂ Company Admin; staff separate
    assert set(ROLE_CONFIGS[roles.CUSTOMER]) < set(ROLE_CONFIGS[roles.COMPANY_ADMIN])
    # staff share only "My data" and reading the REST API with the portal roles (the API scopes
    # each caller by company in code: tests/test_api.py), never a portal or company view
    shared = set(ROLE_CONFIGS[roles.STAFF]) & set(ROLE_CONFIGS[roles.COMPANY_ADMIN])
    assert shared == set(roles.MY_DATA_PERMISSIONS) | set(roles.API_DOCS_PERMISSIONS) | {
        ("can_get", "OrdersApi"), ("can_info", "OrdersApi"), ("can_get", "DevicesApi")}


def test_no_portal_or_staff_role_reaches_security_views(app):
    sm = app.appbuilder.sm
    for name in (roles.CUSTOMER, roles.COMPANY_ADMIN, roles.STAFF):
        views = {p.view_menu.name for p in sm.find_role(name).permissions}
        assert not views & set(SECURITY_VIEWS), name
        assert "Security" not in views


def test_apply_roles_is_idempotent(app):
    sm = app.appbuilder.sm
    before = {r.name: sorted(p.id for p in r.permissions) for r in sm.get_all_roles()}
    apply_roles(sm)
    apply_roles(sm)
    after = {r.name: sorted(p.id for p in r.permissions) for r in sm.get_all_roles()}
    assert before == after


def test_statuses_are_seeded_with_one_initial_and_final_ones(app):
    statuses = db.session.scalars(select(OrderStatus).order_by(OrderStatus.position)).all()
    assert [s.code for s in statuses][:2] == ["received", "in_review"]
    assert sum(s.is_initial for s in statuses) == 1
    assert {s.code for s in statuses if s.is_final} == {"closed", "rejected"}
    assert all(s.label_de and s.label_en for s in statuses)


def test_portal_setup_command_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["portal", "setup"])
    second = runner.invoke(args=["portal", "setup"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "role Staff" in second.output
    assert db.session.scalar(select(db.func.count()).select_from(OrderStatus)) == len(STATUSES)


def test_demo_data_loads_once_and_prints_logins(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "demo"])
    assert result.exit_code == 0, result.output
    assert "staff@portal.example" in result.output
    assert "anna.mueller@mueller-medtech.example" in result.output
    companies = db.session.scalars(select(Company)).all()
    assert len(companies) == 2
    for company in companies:
        users = db.session.scalars(select(PortalUser).where(PortalUser.company_id == company.id)).all()
        assert sorted(r.name for u in users for r in u.roles) == [roles.COMPANY_ADMIN, roles.CUSTOMER]
    orders = db.session.scalars(select(Order)).all()
    assert {o.source for o in orders} == {"portal", "frontend", "backend"}
    assert len({o.status.code for o in orders}) >= 4
    again = runner.invoke(args=["portal", "demo"])
    assert "not loaded" in again.output
    assert db.session.scalar(select(db.func.count()).select_from(Company)) == 2
    # the printed logins work
    response = client.post("/login/", data={"username": "staff@portal.example", "password": "Staff-Demo-2026"})
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_fab_create_admin_makes_a_working_admin(app, client):
    from flask_appbuilder.cli import fab

    runner = app.test_cli_runner()
    result = runner.invoke(fab, args=[
        "create-admin", "--username", "root", "--firstname", "Ada", "--lastname", "Admin",
        "--email", "Ada.Admin@Example.org", "--password", "Admin-Pass-12345",
    ])
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(PortalUser).where(PortalUser.email == "ada.admin@example.org")).one()
    assert [r.name for r in user.roles] == [roles.ADMIN]
    assert user.company_id is None
    response = client.post("/login/", data={"username": "ADA.ADMIN@example.org", "password": "Admin-Pass-12345"})
    assert response.status_code == 302
    assert client.get("/users/list/").status_code == 200


def test_secret_key_is_generated_once_and_kept(tmp_path, database_url, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_DIR": str(tmp_path / "inst"),
              "UPLOAD_FOLDER": str(tmp_path / "up")}
    first = create_app(dict(config)).config["SECRET_KEY"]
    second = create_app(dict(config)).config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "inst" / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert create_app(dict(config)).config["SECRET_KEY"] == "from-the-environment"
    with create_app(dict(config)).app_context():
        db.session.remove()
