"""The one security manager of the portal (wired by FAB_SECURITY_MANAGER_CLASS)."""
from __future__ import annotations

from functools import cache

from flask import flash, g, has_request_context, request, session
from flask_jwt_extended.exceptions import RevokedTokenError
from flask_appbuilder.security.sqla.models import (
    Permission,
    PermissionView,
    Role,
    ViewMenu,
    assoc_permissionview_role,
    assoc_user_role,
)
from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.orm import joinedload, selectinload
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import UserDBModelView
from sqlalchemy import inspect as sa_inspect
from werkzeug.security import check_password_hash

from app.models import LANGUAGES, PortalUser
from app.security import sessions
from app.api.login import SecurityApi
from app.security.auth import PortalAuthDBView
from app.security.limits import record_failed_login

# Why a login was refused although the password was right (shown to the user).
REFUSED_USER_INACTIVE = "user_inactive"
REFUSED_COMPANY_INACTIVE = "company_inactive"


# separators of the permission pairs read with the user: names of views and permissions never hold them
UNIT, RECORD = "\x1f", "\x1e"


@cache
def _user_statement(with_permissions: bool):
    """The statement that loads the request's user (see ``get_user_by_id``), built once per process:
    every request runs it, and building it cost more than PostgreSQL takes to answer it."""
    options = [joinedload(PortalUser.company)]
    if not with_permissions:
        return (select(PortalUser).where(PortalUser.id == bindparam("pk"))
                .options(*options, selectinload(PortalUser.roles), selectinload(PortalUser.groups)))
    permissions = (
        select(func.string_agg(ViewMenu.name + literal(UNIT) + Permission.name, literal(RECORD)))
        .select_from(PermissionView)
        .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
        .join(assoc_user_role, assoc_user_role.c.role_id == assoc_permissionview_role.c.role_id)
        .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
        .join(Permission, Permission.id == PermissionView.permission_id)
        .where(assoc_user_role.c.user_id == PortalUser.id)
        .scalar_subquery()
    )
    return (select(PortalUser, permissions).where(PortalUser.id == bindparam("pk"))
            .options(*options, joinedload(PortalUser.roles), joinedload(PortalUser.groups)))


def _role_permission_names():
    """(view, permission) names with the roles that hold them (``assoc_permissionview_role``), to be
    narrowed to some roles."""
    return (
        select(ViewMenu.name, Permission.name)
        .select_from(PermissionView)
        .join(assoc_permissionview_role, assoc_permissionview_role.c.permission_view_id == PermissionView.id)
        .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
        .join(Permission, Permission.id == PermissionView.permission_id)
    )


@cache
def _roles_permissions_statement():
    """The (view, permission) names of the roles with the ids ``role_ids``, built once per process."""
    return _role_permission_names().where(
        assoc_permissionview_role.c.role_id.in_(bindparam("role_ids", expanding=True)))


@cache
def _role_permissions_statement():
    """The (view, permission) names of the role named ``role``, built once per process."""
    return (_role_permission_names().join(Role, Role.id == assoc_permissionview_role.c.role_id)
            .where(Role.name == bindparam("role")))


def refusal(user):
    """Why an account may not be used now (deactivated user or company), or None. The password
    login, the login code step and each request's session ask the same question."""
    if not user.active:
        return REFUSED_USER_INACTIVE
    if user.company is not None and not user.company.active:
        return REFUSED_COMPANY_INACTIVE
    return None


def _end_session(message) -> None:
    """Log the cookie session out: asked once, told once."""
    session.pop("_user_id", None)
    if has_request_context():
        flash(str(message), "warning")
        g.session_ended = True  # the login page says why, not "Access is Denied" as well


class PortalUserDBModelView(UserDBModelView):
    """FAB's user admin (Admin role only) with the portal's columns."""

    list_columns = ["first_name", "last_name", "email", "company", "active", "roles"]
    add_columns = [
        "first_name", "last_name", "email", "company", "phone", "language", "page_size",
        "active", "roles", "password", "conf_password",
    ]
    edit_columns = [
        "first_name", "last_name", "email", "company", "phone", "language", "page_size",
        "active", "roles",
    ]
    show_fieldsets = [
        ("User info", {"fields": ["email", "company", "active", "roles", "login_count"]}),
        ("Personal Info", {"fields": ["first_name", "last_name", "phone", "language", "page_size"]}),
    ]
    user_show_fieldsets = show_fieldsets

    def process_form(self, form, is_created) -> None:
        """Note whether this edit deactivates the user: by pre_update the change has already been
        flushed (the roles field loads the old roles first), so its history no longer shows it."""
        super().process_form(form, is_created)
        pk = (request.view_args or {}).get("pk")
        if not is_created and pk is not None and "active" in form:
            was_active = self.datamodel.session.scalar(select(PortalUser.active).where(PortalUser.id == int(pk)))
            g.deactivates_user = bool(was_active) and not form.active.data

    def pre_update(self, item) -> None:
        super().pre_update(item)
        if g.pop("deactivates_user", False):
            sessions.new_version(item)  # deactivated: reactivated later, they log in anew


class PortalSecurityManager(SecurityManager):
    user_model = PortalUser
    userdbmodelview = PortalUserDBModelView
    authdbview = PortalAuthDBView
    security_api = SecurityApi  # FAB's API login, with the code of a second factor

    def _create_db(self) -> None:
        """Seed FAB's Admin/Public roles, but never create tables.

        The schema belongs to the Alembic migrations (``flask db upgrade``);
        FAB's own ``create_all`` would make the first migration fail.
        """
        engine = self.session.get_bind(mapper=None, clause=None)
        if "ab_role" in sa_inspect(engine).get_table_names():
            BaseSecurityManager.create_db(self)

    # -- login ----------------------------------------------------------------
    def auth_user_db(self, username, password):
        """Log in by email, case-insensitively; refuse inactive users and companies.

        When the password was right but the account or its company is inactive,
        ``g.login_refused`` says why, so the login page can tell the user.
        """
        username = (username or "").strip().lower()
        user = super().auth_user_db(username, password)
        if user is not None and user.company is not None and not user.company.active:
            g.login_refused = REFUSED_COMPANY_INACTIVE
            return None
        if user is None and username and password:
            candidate = self.find_user(email=username)
            if (
                candidate is not None
                and not candidate.active
                and candidate.password
                and check_password_hash(candidate.password, password)
            ):
                g.login_refused = REFUSED_USER_INACTIVE
        if user is None and "login_refused" not in g:
            record_failed_login()  # counts towards the login limits (app/security/limits.py)
        return user

    def get_user_by_id(self, pk):
        """The user with the company joined, roles and groups by primary key (each request loads it).

        On PostgreSQL roles and groups are joined too, and the permissions of the user's roles come
        in the same statement (for :meth:`exist_permission_on_roles`): one round trip instead of
        four. SQLite plans the nested outer join through ab_user_role as a scan of the whole table
        (15 ms with 100,000 users), so there they come with a query each.
        """
        try:  # FAB's reset-password form passes ?pk= as it came, a string: PostgreSQL will not compare it
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        if self.session.get_bind().dialect.name != "postgresql":
            return self.session.scalars(_user_statement(False), {"pk": pk}).first()
        row = self.session.execute(_user_statement(True), {"pk": pk}).unique().first()
        if row is None:
            return None
        user, pairs = row
        # the permissions of exactly these roles (FAB asks with the ids of the user's roles; with
        # groups or built-in roles it asks with others, and those are read as before)
        if has_request_context() and not user.groups and not any(r.name in self.builtin_roles for r in user.roles):
            key = tuple(sorted(role.id for role in user.roles))
            g.setdefault("_portal_permissions", {})[key] = {
                tuple(pair.split(UNIT, 1)) for pair in (pairs or "").split(RECORD) if pair}
        return user

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        """Answer FAB's permission checks from one query per request.

        FAB asks the database once per check: a page with a menu made about a
        dozen queries. The permissions of the request's roles are read once instead.
        """
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        cache = g.setdefault("_portal_permissions", {})
        if key not in cache:
            rows = self.session.execute(_roles_permissions_statement(), {"role_ids": list(key)}).all()
            cache[key] = {(view, perm) for view, perm in rows}
        return (view_name, permission_name) in cache[key]

    def is_item_public(self, permission_name, view_name) -> bool:
        """Whether the public role (``AUTH_ROLE_PUBLIC``) has this permission: read once per request
        in one query. FAB reads the role and then all its permissions as objects, on every API call
        (its ``protect`` asks before it looks at the caller's token) and for every menu entry of a
        page seen without login."""
        if not has_request_context():
            return super().is_item_public(permission_name, view_name)
        public = g.get("_portal_public_permissions")
        if public is None:
            rows = self.session.execute(_role_permissions_statement(), {"role": self.auth_role_public}).all()
            public = g._portal_public_permissions = {(view, perm) for view, perm in rows}
        return (view_name, permission_name) in public

    def load_user(self, pk):
        """The user of a cookie session (Flask-Login's loader).

        A deactivated user or company, or a session that logged in before the user's session version
        went up (password changed, logged out everywhere), ends on the next request, with a word why.
        """
        from app.security.auth import REFUSAL_MESSAGES

        user = self.get_user_by_id(int(pk))
        if user is None:
            return None
        reason = refusal(user)
        if reason:
            _end_session(REFUSAL_MESSAGES[reason])
            return None
        if has_request_context() and not sessions.session_is_current(user):
            _end_session(sessions.SESSION_ENDED_MESSAGE)
            return None
        return user

    def load_user_jwt(self, jwt_header, jwt_data):
        """The user of a JWT; a token from before the user's session version went up is revoked (401)."""
        user = self.get_user_by_id(int(jwt_data["sub"]))
        if user is None or refusal(user):
            return None
        if not sessions.token_is_current(user, jwt_data):
            raise RevokedTokenError(jwt_header, jwt_data)
        g.user = user
        return user

    def create_jwt_manager(self, app):
        """FAB's JWT manager; every token FAB creates (login, refresh) carries the user's session version."""
        jwt_manager = super().create_jwt_manager(app)

        @jwt_manager.additional_claims_loader
        def _session_version(identity):
            user = self.session.get(self.user_model, int(identity)) if str(identity).isdigit() else None
            return {sessions.CLAIM: sessions.version_of(user)} if user is not None else {}

        return jwt_manager

    def reset_password(self, userid, password):
        """FAB's password reset (Admin's ResetPasswordView, ResetMyPasswordView) ends the user's other
        sessions too."""
        from flask import abort

        from app.services import audit

        user = self.get_user_by_id(userid)
        if user is None:  # FAB would fail on a ?pk= of no user (a 500)
            abort(404)
        sessions.new_version(user)
        audit.record(audit.PASSWORD_CHANGED, user, actor=g.get("user"), company_id=user.company_id)
        super().reset_password(user.id, password)

    def validate_api_key(self, api_key_string: str):
        """An API key acts as the user who created it, with that user's company.

        FAB's relation hands back its plain ``User`` (without the company): the
        portal user is loaded again. A key stops working when it is revoked, when
        its user is deactivated, or when the company is deactivated.
        """
        key_user = super().validate_api_key(api_key_string)
        if key_user is None:
            return None
        user = self.get_user_by_id(key_user.id)
        if user is None or not user.active or (user.company is not None and not user.company.active):
            g.pop("_api_key_user", None)
            g.user = None
            return None
        g.user = user
        return user

    def on_user_login(self, user) -> None:
        if getattr(user, "language", None) in LANGUAGES:
            session["locale"] = user.language
