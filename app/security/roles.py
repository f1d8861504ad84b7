"""The portal's roles, declared once as data.

Each permission is a pair (permission, view) exactly as FAB stores it; views are
named by their stable ``class_permission_name`` (never their label) and menu
entries by their stable menu name. ``CUSTOMER`` is contained in ``COMPANY_ADMIN``;
``STAFF`` is separate. None of them reaches FAB's security views (users, roles,
reset password): those stay with ``Admin``.

Apply with ``flask portal setup`` (idempotent; run once per deploy, never by
the web workers).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ADMIN = "Admin"
STAFF = "Staff"
COMPANY_ADMIN = "Company Admin"
CUSTOMER = "Customer"

PORTAL_ROLES = (CUSTOMER, COMPANY_ADMIN)

# What users read; the role names above are data and never change.
ROLE_LABELS = {
    ADMIN: _l("Administrator"),
    STAFF: _l("Staff"),
    COMPANY_ADMIN: _l("Company admin"),
    CUSTOMER: _l("Employee"),
}


def role_label(name: str) -> str:
    return str(ROLE_LABELS.get(name, name))


def _crud(view: str, *perms: str) -> list[tuple[str, str]]:
    return [(perm, view) for perm in perms]


# -- the portal (/cc/) ----------------------------------------------------------
MY_DATA_PERMISSIONS: list[tuple[str, str]] = [
    ("can_edit", "MyData"),
]

# The REST API and its documentation (OpenAPI, Swagger UI).
API_DOCS_PERMISSIONS: list[tuple[str, str]] = [
    ("can_get", "OpenApi"),
    ("can_show", "SwaggerView"),
]

CUSTOMER_PERMISSIONS: list[tuple[str, str]] = MY_DATA_PERMISSIONS + API_DOCS_PERMISSIONS + [
    *_crud("OrdersApi", "can_get", "can_info", "can_post", "can_decide"),
    *_crud("PortalOrders", "can_list", "can_show", "can_add", "can_upload", "can_download", "can_message",
           "can_export"),
    # every employee sees the quote; quotes.may_decide decides per user who accepts or rejects
    *_crud("PortalQuotes", "can_show", "can_decide"),
    *_crud("PortalDevices", "can_list", "can_show"),
    ("can_show", "PortalDeviceHistory"),
    ("can_get", "DevicesApi"),
    ("can_search", "PortalDeviceSearch"),  # serial numbers of the own company's register, as you type
    ("menu_access", "Portal orders"),
    ("menu_access", "Portal new order"),
    ("menu_access", "Portal devices"),
]

COMPANY_ADMIN_PERMISSIONS: list[tuple[str, str]] = CUSTOMER_PERMISSIONS + [
    *_crud("PortalEmployees", "can_list", "can_add", "can_activate", "can_quote_right", "can_quote_settings"),
    *_crud("PortalApiKeys", "can_list", "can_add", "can_revoke"),
    *_crud("PortalWebhooks", "can_list", "can_add", "can_show", "can_edit", "can_test", "can_delete"),
    *_crud("PortalDevices", "can_add", "can_edit", "can_import"),
    *_crud("DevicesApi", "can_post", "can_put"),  # employees read the register, admins keep it
    ("can_show", "PortalStatistics"),
    ("menu_access", "Portal employees"),
    ("menu_access", "Portal statistics"),
]

# -- the staff backend ---------------------------------------------------------
STAFF_PERMISSIONS: list[tuple[str, str]] = MY_DATA_PERMISSIONS + API_DOCS_PERMISSIONS + [
    *_crud("OrdersApi", "can_get", "can_info"),  # every company's orders, read-only
    *_crud("StaffOrders", "can_list", "can_show", "can_add", "can_edit", "can_change_status",
           "can_download", "can_message", "can_export", "can_quote"),
    *_crud("StaffOrderItems", "can_list", "can_show", "can_add", "can_edit", "can_delete"),
    *_crud("StaffStatusHistory", "can_list", "can_show"),
    *_crud("StaffCompanies", "can_list", "can_show", "can_add", "can_edit", "can_erase"),
    *_crud("StaffCompanyUsers", "can_list", "can_show", "can_edit", "can_add", "can_erase", "can_reset_two_factor"),
    *_crud("StaffStatuses", "can_list", "can_show", "can_add", "can_edit"),
    *_crud("StaffRegistrationRequests", "can_list", "can_show", "can_decide"),
    *_crud("StaffDevices", "can_list", "can_show", "can_add", "can_edit"),
    *_crud("StaffAudit", "can_list", "can_show"),
    *_crud("StaffOutbox", "can_list", "can_show"),
    ("can_show", "StaffDashboard"),
    ("can_show", "StaffDeviceHistory"),
    ("can_get", "DevicesApi"),  # every company's devices, read-only
    ("can_show", "StaffStatistics"),
    ("menu_access", "Backend"),
    ("menu_access", "Staff orders"),
    ("menu_access", "Staff companies"),
    ("menu_access", "Staff company users"),
    ("menu_access", "Staff statuses"),
    ("menu_access", "Staff registration requests"),
    ("menu_access", "Staff devices"),
    ("menu_access", "Staff audit log"),
    ("menu_access", "Staff outbox"),
    ("menu_access", "Staff dashboard"),
]

ROLE_CONFIGS: dict[str, list[tuple[str, str]]] = {
    CUSTOMER: CUSTOMER_PERMISSIONS,
    COMPANY_ADMIN: COMPANY_ADMIN_PERMISSIONS,
    STAFF: STAFF_PERMISSIONS,
}

# FAB views that only Admin may ever reach (checked by the tests).
SECURITY_VIEWS = (
    "UserDBModelView",
    "RoleModelView",
    "ResetPasswordView",
    "ResetMyPasswordView",
    "UserInfoEditView",
    "PermissionModelView",
    "ViewMenuModelView",
    "PermissionViewModelView",
    "RoleApi",
    "UserApi",
    "PermissionApi",
    "ViewMenuApi",
    "PermissionViewMenuApi",
    "ApiKey",
)


def apply_roles(sm) -> dict[str, int]:
    """Make every declared role hold exactly its declared permissions.

    Idempotent: running it twice changes nothing the second time. Admin gets
    every permission that exists. Returns the number of permissions per role.
    """
    counts: dict[str, int] = {}
    for role_name, wanted in ROLE_CONFIGS.items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted_pvms = []
        for perm, view in wanted:
            pvm = sm.find_permission_view_menu(perm, view)
            if pvm is None:
                pvm = sm.add_permission_view_menu(perm, view)
            wanted_pvms.append(pvm)
        if set(p.id for p in role.permissions) != set(p.id for p in wanted_pvms):
            role.permissions = wanted_pvms
            sm.session.merge(role)
        counts[role_name] = len(wanted_pvms)
    admin = sm.find_role(ADMIN) or sm.add_role(ADMIN)
    all_pvms = sm.session.query(sm.permissionview_model).all()
    if set(p.id for p in admin.permissions) != set(p.id for p in all_pvms):
        admin.permissions = all_pvms
        sm.session.merge(admin)
    counts[ADMIN] = len(all_pvms)
    sm.session.commit()
    return counts
