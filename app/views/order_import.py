"""``/cc/orders/from-file``: a new order from a CSV or XLSX file, through a preview kept on the server."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from app.security.scoping import current_company_id, require_company
from app.services import devices, files, order_import
from app.views.portal_forms import OrderFromFileForm


class PortalOrderImportView(BaseView):
    """Whoever may create orders may create one from a file (the orders' own permission)."""

    route_base = "/cc/orders"
    class_permission_name = "PortalOrders"
    method_permission_name = {"upload": "add", "confirm": "add"}
    default_view = "upload"

    @expose("/from-file", methods=["GET", "POST"])
    @has_access
    def upload(self):
        """GET: the form; POST: read the file and show its preview (nothing saved yet)."""
        require_company()
        form = OrderFromFileForm()
        if not form.validate_on_submit():
            return self._form_page(form, status=422 if request.method == "POST" else 200)
        upload = files.real_files(form.file.data)[0]
        token, preview = order_import.make_preview(upload, form.reference.data.strip(), current_company_id(), g.user)
        if preview["errors"]:
            return self._form_page(OrderFromFileForm(formdata=None, reference=form.reference.data),
                                   preview=preview, filename=upload.filename, status=422)
        return self.render_template("portal/order_from_file.html", form=None, preview=preview, token=token,
                                    filename=upload.filename, max_rows=order_import.max_rows(),
                                    may_add_devices=self._may_add_devices())

    def _may_add_devices(self) -> bool:
        """Whoever may add devices to the register (company admins) may add the file's new serial numbers."""
        return self.appbuilder.sm.has_access("can_add", "PortalDevices")

    def _form_page(self, form, preview=None, filename=None, status=200):
        return self.render_template("portal/order_from_file.html", form=form, preview=preview, token=None,
                                    filename=filename, max_rows=order_import.max_rows(),
                                    may_add_devices=False), status

    @expose("/from-file/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        """One order with every previewed article; the chosen new serial numbers into the register.
        A preview that is unknown, expired, or another user's or company's is "expired": nothing saved."""
        require_company()
        user = g.user
        token = request.form.get("token", "")
        try:
            order = order_import.confirm(token, user.company, user, request.form.getlist("add_serial"),
                                         may_add_devices=self._may_add_devices())
        except (devices.DeviceInvalid, IntegrityError):  # a chosen serial number was added to the register meanwhile
            order_import.discard(token)
            flash(_("Nothing was saved: the register has changed since the preview. Please upload the file again."),
                  "danger")
            return redirect(url_for(".upload"))
        if order is None:
            flash(_("The preview has expired. Please upload the file again."), "warning")
            return redirect(url_for(".upload"))
        flash(_("Your order was saved. Its RMA number is %(rma)s.", rma=order.rma_number), "success")
        return redirect(url_for("PortalOrderView.show", pk=order.id))
