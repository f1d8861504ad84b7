"""Who may use which route: one declared table, checked against app.url_map.

Every endpoint of the app (FAB's generated ones included) must be listed here;
a new route that is not fails tests/test_routes.py until someone decides who may use it.
"""
from app.security.roles import ADMIN, COMPANY_ADMIN, CUSTOMER, STAFF

ANONYMOUS = "anonymous"
EVERYONE = frozenset({ANONYMOUS, CUSTOMER, COMPANY_ADMIN, STAFF, ADMIN})
LOGGED_IN = frozenset({CUSTOMER, COMPANY_ADMIN, STAFF, ADMIN})
PORTAL = frozenset({CUSTOMER, COMPANY_ADMIN, ADMIN})  # admins hold every permission, but see no company's data
WITH_COMPANY = frozenset({CUSTOMER, COMPANY_ADMIN})
COMPANY_ADMINS = frozenset({COMPANY_ADMIN})
BACKEND = frozenset({STAFF, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})
NOBODY = frozenset()

FAB_CRUD = ("list", "show", "add", "edit", "delete", "action", "action_post", "download")

ROUTE_TABLE: dict[str, frozenset] = {
    # public
    "static": EVERYONE,
    "health.healthz": EVERYONE,  # for load balancers: no data, no login
    "health.readyz": EVERYONE,
    "appbuilder.static": EVERYONE,
    "LocaleView.index": EVERYONE,
    "UtilView.back": EVERYONE,
    "PortalIndexView.index": EVERYONE,
    "PortalIndexView.favicon": EVERYONE,
    "PortalHomeView.home": EVERYONE,
    "PortalAuthDBView.login": EVERYONE,
    "PortalAuthDBView.logout": EVERYONE,
    "PortalAuthDBView.second_factor": EVERYONE,  # only after a right password in this session, else to the login
    "PortalRegisterView.register": EVERYONE,
    "PortalRegisterView.done": EVERYONE,
    "SetPasswordView.set_password": EVERYONE,
    "PublicOrderView.form": EVERYONE,
    "PublicOrderView.slip_pdf": EVERYONE,  # only for an order this visitor sent or looked up
    "PublicOrderView.sent": EVERYONE,
    "PublicStatusView.lookup": EVERYONE,
    "SecurityApi.login": EVERYONE,
    "SecurityApi.refresh": frozenset(),  # only with a JWT refresh token, never with a session
    "MenuApi.get_menu_data": ADMIN_ONLY,  # FAB's menu API: no role but Admin holds it
    # every logged-in user: their own data
    "MyDataView.index": LOGGED_IN,
    "MyDataView.personal": LOGGED_IN,
    "MyDataView.password": LOGGED_IN,
    "MyDataView.settings": LOGGED_IN,
    "MyDataView.log_out_everywhere": LOGGED_IN,  # only ever the logged-in user's own sessions
    "MyDataView.export_request": LOGGED_IN,  # one's own data; the company's only for its admins (403)
    "MyDataView.export_download": LOGGED_IN,  # one's own exports, a company admin's company's; 404 otherwise
    # one's own second factor only: no user id in the address
    **{f"MyDataView.{m}": LOGGED_IN for m in ("two_factor_confirm", "two_factor_restart", "two_factor_codes",
                                              "two_factor_off")},
    # the portal
    "PortalOrderView.list": PORTAL,
    "PortalOrderView.show": PORTAL,
    "PortalOrderView.add": WITH_COMPANY,
    "PortalOrderImportView.upload": WITH_COMPANY,  # an order from a file, through a preview
    "PortalOrderImportView.confirm": WITH_COMPANY,  # only the user's own preview, else 404
    "PortalOrderView.upload": PORTAL,
    "PortalOrderView.download": PORTAL,
    "PortalOrderView.message": PORTAL,
    "PortalOrderView.export": PORTAL,
    "PortalOrderView.slip": PORTAL,
    "PortalOrderView.slip_pdf": PORTAL,
    "PortalEmployeeView.list": COMPANY_ADMINS,
    "PortalEmployeeView.add": COMPANY_ADMINS,
    "PortalEmployeeView.two_factor_setting": COMPANY_ADMINS,  # the admin's own company: no id in the address
    "PortalEmployeeView.activate": COMPANY_ADMINS,
    "PortalEmployeeView.deactivate": COMPANY_ADMINS,
    "PortalEmployeeView.quote_right": COMPANY_ADMINS,
    "PortalEmployeeView.quote_settings": COMPANY_ADMINS,
    # company admins, and the employees their admin allows to (quotes.may_decide; others get 403)
    "PortalQuoteView.accept": COMPANY_ADMINS,
    "PortalQuoteView.reject": COMPANY_ADMINS,
    "PortalQuoteView.pdf": PORTAL,
    "PortalDeviceSearchView.search": PORTAL,  # the caller's company's register only (admins: none)
    "PortalApiKeyView.list": COMPANY_ADMINS,
    "PortalApiKeyView.add": COMPANY_ADMINS,
    "PortalApiKeyView.revoke": COMPANY_ADMINS,
    # the company's own webhooks (no other company's endpoint by any id: 404)
    **{f"PortalWebhookView.{m}": COMPANY_ADMINS for m in ("list", "add", "show", "pause", "resume", "test",
                                                         "delete")},
    # the device register: the user's own company (no company in the address); admins hold the
    # permissions but have no company: an empty list, and 403 where a company is needed
    **{f"PortalDeviceView.{m}": PORTAL for m in ("list", "show", "export_csv", "export_xlsx")},
    **{f"PortalDeviceView.{m}": COMPANY_ADMINS for m in ("add", "edit", "retire", "reactivate", "import_file",
                                                          "import_confirm", "template_csv", "template_xlsx")},
    "PortalStatisticsView.index": COMPANY_ADMINS,  # the admin's own company only: no id in the address
    "PortalStatisticsView.csv": COMPANY_ADMINS,
    "PortalDeviceHistoryView.history": PORTAL,  # the company's own orders only (admins: none)
    # the REST API's description and Swagger UI (the description holds no data)
    "OpenApi.get": LOGGED_IN,
    "SwaggerView.show": LOGGED_IN,
    # the REST API itself never accepts a browser session: see API_ROUTE_TABLE
    **{f"OrderApi.{m}": NOBODY for m in ("get_list", "get", "info", "post", "history", "list_files", "download",
                                         "upload")},
    **{f"QuoteApi.{m}": NOBODY for m in ("get_quote", "accept", "reject")},
    **{f"DeviceApi.{m}": NOBODY for m in ("get_list", "get", "history", "post", "put")},
    # the staff backend
    **{f"StaffOrderView.{m}": BACKEND for m in ("list", "show", "add", "edit", "change_status", "add_item",
                                                 "download_file", "message", "slip", "slip_pdf",
                                                 "export")},
    **{f"StaffQuoteView.{m}": BACKEND for m in ("edit", "send", "pdf")},
    "StaffOrderItemView.edit": BACKEND,
    "StaffOrderItemView.delete": BACKEND,
    "StaffOrderItemView.remove": BACKEND,
    **{f"StaffCompanyView.{m}": BACKEND for m in ("list", "show", "add", "edit", "erase")},
    **{f"StaffCompanyUserView.{m}": BACKEND for m in ("list", "show", "edit", "erase", "reset_two_factor")},
    **{f"StaffRegistrationView.{m}": BACKEND for m in ("list", "show", "approve", "reject")},
    **{f"StaffStatusView.{m}": BACKEND for m in ("list", "show", "add", "edit")},
    **{f"StaffStatusHistoryView.{m}": BACKEND for m in ("list", "show")},
    **{f"StaffAuditView.{m}": BACKEND for m in ("list", "show")},
    **{f"StaffOutboxView.{m}": BACKEND for m in ("list", "show")},
    **{f"StaffDeviceView.{m}": BACKEND for m in ("list", "show", "add", "edit")},
    "StaffDashboardView.index": BACKEND,
    "StaffStatisticsView.show": BACKEND,
    "StaffStatisticsView.csv": BACKEND,
    "StaffDeviceHistoryView.history": BACKEND,
    # FAB's security views: admins only
    **{f"{view}.{m}": ADMIN_ONLY for view in ("PortalUserDBModelView", "RoleModelView", "UserGroupModelView")
       for m in FAB_CRUD},
    # FAB's permission lists are read-only, even for admins
    **{f"{view}.{m}": ADMIN_ONLY if m in ("list", "action", "action_post", "download", "delete") else NOBODY
       for view in ("PermissionModelView", "ViewMenuModelView", "PermissionViewModelView") for m in FAB_CRUD},
    "PortalUserDBModelView.userinfo": ADMIN_ONLY,
    "ResetPasswordView.this_form_get": ADMIN_ONLY,
    "ResetPasswordView.this_form_post": ADMIN_ONLY,
    "ResetMyPasswordView.this_form_get": ADMIN_ONLY,
    "ResetMyPasswordView.this_form_post": ADMIN_ONLY,
    "UserInfoEditView.this_form_get": ADMIN_ONLY,
    "UserInfoEditView.this_form_post": ADMIN_ONLY,
    "UserStatsChartView.chart": ADMIN_ONLY,
}


# Who may use each REST API route with an API key or a JWT (tests/test_routes.py
# checks every role through FAB's JWT login; tests/test_api.py the keys).
API_USERS = frozenset({CUSTOMER, COMPANY_ADMIN, STAFF, ADMIN})
API_ROUTE_TABLE: dict[str, frozenset] = {
    **{f"OrderApi.{m}": API_USERS for m in ("get_list", "get", "info", "history", "list_files", "download")},
    "OrderApi.post": WITH_COMPANY,  # staff create orders in the backend
    "OrderApi.upload": frozenset({CUSTOMER, COMPANY_ADMIN, ADMIN}),
    "QuoteApi.get_quote": API_USERS,  # staff read every company's quotes
    # company admins and the employees they allow (quotes.may_decide); staff never decide
    "QuoteApi.accept": COMPANY_ADMINS,
    "QuoteApi.reject": COMPANY_ADMINS,
    **{f"DeviceApi.{m}": API_USERS for m in ("get_list", "get", "history")},  # staff read every company's
    # company admins and their keys keep the register; staff never add devices (the admin has no company: 403)
    "DeviceApi.post": COMPANY_ADMINS,
    "DeviceApi.put": COMPANY_ADMINS,
}
