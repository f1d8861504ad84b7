"""One place registers every view: this function is the app's whole menu."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


def register_views(appbuilder) -> None:
    from flask import current_app

    from app.views.backend.common import RecordLink

    current_app.jinja_env.globals["record_link"] = RecordLink  # the list widget's row buttons
    from app.views.backend import (
        StaffAuditView,
        StaffOutboxView,
        StaffCompanyUserView,
        StaffCompanyView,
        StaffDeviceView,
        StaffOrderItemView,
        StaffOrderView,
        StaffQuoteView,
        StaffStatusHistoryView,
        StaffStatusView,
    )
    from app.views.apikeys import PortalApiKeyView
    from app.views.webhooks import PortalWebhookView
    from app.views.dashboard import StaffDashboardView
    from app.views.devices import PortalDeviceView
    from app.views.device_history import PortalDeviceHistoryView, StaffDeviceHistoryView
    from app.views.device_search import PortalDeviceSearchView
    from app.views.mydata import MyDataView, PortalEmployeeView
    from app.views.order_import import PortalOrderImportView
    from app.views.portal import PortalHomeView, PortalOrderView
    from app.views.quotes import PortalQuoteView
    from app.views.public import PublicOrderView, PublicStatusView, limit_public_forms
    from app.views.register import PortalRegisterView, SetPasswordView, limit_registration
    from app.views.registrations import StaffRegistrationView
    from app.views.statistics import PortalStatisticsView, StaffStatisticsView

    # -- the portal (/cc/) --------------------------------------------------------
    appbuilder.add_view_no_menu(PortalHomeView)
    appbuilder.add_view(PortalOrderView, "Portal orders", label=_l("Orders"), icon="fa-list", href="/cc/orders/")
    appbuilder.add_link("Portal new order", label=_l("New order"), icon="fa-plus", href="/cc/orders/new")
    appbuilder.add_view(
        PortalEmployeeView, "Portal employees", label=_l("Employees"), icon="fa-users", href="/cc/employees/"
    )
    appbuilder.add_view(
        PortalStatisticsView, "Portal statistics", label=_l("Statistics"), icon="fa-bar-chart",
        href="/cc/statistics/",
    )
    appbuilder.add_view(
        PortalDeviceView, "Portal devices", label=_l("Devices"), icon="fa-hdd-o", href="/cc/devices/",
    )
    appbuilder.add_view_no_menu(PortalQuoteView)
    appbuilder.add_view_no_menu(PortalDeviceHistoryView)
    appbuilder.add_view_no_menu(PortalDeviceSearchView)
    appbuilder.add_view_no_menu(PortalOrderImportView)
    appbuilder.add_view_no_menu(MyDataView)
    appbuilder.add_view_no_menu(PortalApiKeyView)
    appbuilder.add_view_no_menu(PortalWebhookView)
    register = appbuilder.add_view_no_menu(PortalRegisterView)
    set_password = appbuilder.add_view_no_menu(SetPasswordView)
    limit_registration(appbuilder, register)
    limit_registration(appbuilder, set_password)

    # -- the public order form (/repair/): no account needed ------------------------
    public_order = appbuilder.add_view_no_menu(PublicOrderView)
    public_status = appbuilder.add_view_no_menu(PublicStatusView)
    limit_public_forms(appbuilder, public_order, public_status)

    # -- the staff backend ------------------------------------------------------
    backend = dict(category="Backend", category_label=_l("Backend"), category_icon="fa-wrench")
    appbuilder.add_view(StaffDashboardView, "Staff dashboard", label=_l("Dashboard"), icon="fa-bar-chart",
                        **backend)
    appbuilder.add_view(StaffOrderView, "Staff orders", label=_l("Orders"), icon="fa-list", **backend)
    appbuilder.add_view(
        StaffCompanyView, "Staff companies", label=_l("Companies"), icon="fa-building", **backend
    )
    appbuilder.add_view(
        StaffCompanyUserView, "Staff company users", label=_l("Company users"), icon="fa-users", **backend
    )
    appbuilder.add_view(StaffDeviceView, "Staff devices", label=_l("Devices"), icon="fa-hdd-o", **backend)
    appbuilder.add_view(
        StaffRegistrationView,
        "Staff registration requests",
        label=_l("Registration requests"),
        icon="fa-user-plus",
        **backend,
    )
    appbuilder.add_view(
        StaffStatusView, "Staff statuses", label=_l("Statuses"), icon="fa-flag", **backend
    )
    appbuilder.add_view(StaffAuditView, "Staff audit log", label=_l("Audit log"), icon="fa-history", **backend)
    appbuilder.add_view(StaffOutboxView, "Staff outbox", label=_l("Outbox"), icon="fa-envelope", **backend)
    appbuilder.add_view_no_menu(StaffOrderItemView)
    appbuilder.add_view_no_menu(StaffQuoteView)
    appbuilder.add_view_no_menu(StaffStatusHistoryView)
    appbuilder.add_view_no_menu(StaffStatisticsView)
    appbuilder.add_view_no_menu(StaffDeviceHistoryView)
