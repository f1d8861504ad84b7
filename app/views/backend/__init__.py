"""The staff backend: every order of every source, companies and their users, statuses, audit log, outbox.

One module per concern; ``common`` holds what every backend view shares.
"""
from app.views.backend.audit import StaffAuditView
from app.views.backend.companies import StaffCompanyUserView, StaffCompanyView
from app.views.backend.devices import StaffDeviceView
from app.views.backend.orders import StaffOrderItemView, StaffOrderView, StaffStatusHistoryView
from app.views.backend.outbox import StaffOutboxView
from app.views.backend.quotes import StaffQuoteView
from app.views.backend.statuses import StaffStatusView

__all__ = [
    "StaffAuditView", "StaffCompanyUserView", "StaffCompanyView", "StaffDeviceView", "StaffOrderItemView", "StaffOrderView",
    "StaffOutboxView", "StaffQuoteView", "StaffStatusHistoryView", "StaffStatusView",
]
