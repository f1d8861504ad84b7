"""The company's device register at /cc/devices/: employees read it, company admins add, edit,
retire and import; everyone of the company exports it. The rules are :mod:`app.services.devices`;
every query is scoped to the user's company (another company's device is "not found")."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from app.errors import valid_id
from app.extensions import db
from app.models import Device, utcnow
from app.security import roles
from app.security.scoping import current_company_id, require_company
from app.services import devices, export, previews, sheets
from app.views.device_forms import ConfirmImportForm, DeviceForm, DeviceImportForm
from app.views.portal import page_size_of

PREVIEW_KIND = "devices"
FILTERS = {"active": True, "retired": False, "all": None}


def columns() -> list[tuple[str, str]]:
    """The register's columns: field and header in the reader's language (template, export, preview)."""
    return [("serial_number", _("Serial number")), ("article_number", _("Article number")),
            ("description", _("Description")), ("delivered_on", _("Delivery date")),
            ("warranty_until", _("Warranty until")), ("location", _("Location or cost centre")),
            ("note", _("Note"))]


# Headers an import accepts, German and English whatever the reader's language (compared case-insensitively).
ACCEPTED = {
    "serial_number": {"Seriennummer", "Serial number", "Serial no", "serial_number"},
    "article_number": {"Artikelnummer", "Article number", "article_number"},
    "description": {"Bezeichnung", "Description", "description"},
    "delivered_on": {"Lieferdatum", "Delivery date", "Delivered on", "delivered_on"},
    "warranty_until": {"Garantie bis", "Warranty until", "Garantieende", "Warranty end", "warranty_until"},
    "location": {"Standort oder Kostenstelle", "Location or cost centre", "Standort", "Kostenstelle", "Location",
                 "Cost centre", "Cost center", "location"},
    "note": {"Hinweis", "Notiz", "Bemerkung", "Note", "note"},
}


def accepted_headers() -> dict[str, set[str]]:
    labels = dict(columns())
    return {name: spellings | {labels[name]} for name, spellings in ACCEPTED.items()}


class PortalDeviceView(BaseView):
    """The register of the logged-in user's company; there is no company in any address."""

    route_base = "/cc/devices"
    class_permission_name = "PortalDevices"
    method_permission_name = {
        "list": "list", "show": "show", "export_csv": "list", "export_xlsx": "list",
        "add": "add", "edit": "edit", "retire": "edit", "reactivate": "edit",
        "import_file": "import", "import_confirm": "import", "template_csv": "import", "template_xlsx": "import",
    }
    default_view = "list"

    @staticmethod
    def _device_or_404(pk: int) -> Device:
        device = devices.device_by_id(current_company_id(), pk)
        if device is None:
            abort(404)
        return device

    @staticmethod
    def _list_args() -> tuple[str, str]:
        state = request.args.get("state", "active")
        return (request.args.get("q") or "").strip()[:100], state if state in FILTERS else "active"

    @expose("/")
    @has_access
    def list(self):
        q, state = self._list_args()
        stmt = devices.company_devices(current_company_id(), q, FILTERS[state])
        per_page = page_size_of(g.user)
        total = db.session.scalar(stmt.with_only_columns(func.count(Device.id)).order_by(None))
        pages = max((total + per_page - 1) // per_page, 1)
        page = min(valid_id(request.args.get("page")) or 1, pages)
        rows = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
        return self.render_template(
            "portal/devices.html", devices=rows, total=total, page=page, pages=pages, q=q, state=state,
            today=utcnow().date(), may_change=g.user.has_role(roles.COMPANY_ADMIN) and bool(g.user.company_id),
        )

    @expose("/<int:pk>")
    @has_access
    def show(self, pk):
        device = self._device_or_404(pk)
        return self.render_template(
            "portal/device.html", device=device, today=utcnow().date(),
            may_change=g.user.has_role(roles.COMPANY_ADMIN) and bool(g.user.company_id),
        )

    def _form_page(self, form, device=None, status=200):
        return self.render_template("portal/device_form.html", form=form, device=device), status

    def _save(self, form, device=None):
        if not form.validate_on_submit():
            return self._form_page(form, device, 422)
        try:
            if device is None:
                device = devices.create(current_company_id(), form.values(), g.user)
            else:
                devices.update(device, form.values(), g.user)
            db.session.commit()
        except devices.DeviceInvalid as invalid:
            db.session.rollback()
            for name, message in invalid.errors.items():
                getattr(form, name).errors = list(getattr(form, name).errors or []) + [message]
            return self._form_page(form, device, 422)
        flash(_("The device %(serial)s was saved.", serial=device.serial_number), "success")
        return redirect(url_for(".show", pk=device.id))

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def add(self):
        require_company()
        form = DeviceForm()
        if request.method == "GET":
            return self._form_page(form)
        return self._save(form)

    @expose("/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        require_company()
        device = self._device_or_404(pk)
        if request.method == "GET":
            data = {name: getattr(device, name) for name in devices.FIELDS}
            data.update({name: data[name].isoformat() if data[name] else "" for name in devices.DATE_FIELDS})
            return self._form_page(DeviceForm(formdata=None, data=data), device)
        return self._save(DeviceForm(), device)

    def _set_active(self, pk: int, active: bool):
        require_company()
        device = self._device_or_404(pk)
        if not ConfirmImportForm().validate_on_submit():  # the CSRF token
            abort(400)
        devices.set_active(device, active, g.user)
        db.session.commit()
        if active:
            flash(_("The device %(serial)s is in use again.", serial=device.serial_number), "success")
        else:
            flash(_("The device %(serial)s was retired.", serial=device.serial_number), "success")
        return redirect(url_for(".show", pk=device.id))

    @expose("/<int:pk>/retire", methods=["POST"])
    @has_access
    def retire(self, pk):
        return self._set_active(pk, False)

    @expose("/<int:pk>/reactivate", methods=["POST"])
    @has_access
    def reactivate(self, pk):
        return self._set_active(pk, True)

    # -- import ------------------------------------------------------------------------------
    def _import_page(self, form, status=200, **preview):
        return self.render_template("portal/devices_import.html", form=form, columns=columns(),
                                    max_rows=devices_max_rows(), preview=preview or None), status

    @expose("/import", methods=["GET", "POST"])
    @has_access
    def import_file(self):
        """Upload: every row with its errors; the checked rows are kept on the server for "Confirm"."""
        require_company()
        form = DeviceImportForm()
        if request.method == "GET":
            return self._import_page(form)
        if not form.validate_on_submit():
            return self._import_page(form, 422)
        table = sheets.read_table(form.file.data, accepted_headers(), devices_max_rows(),
                                  required=("serial_number", "description"))
        labels = dict(columns())
        errors = [(e.row, e.column if e.column not in labels else labels[e.column], e.message) for e in table.errors]
        rows, row_errors = devices.check_import(current_company_id(), table.rows)
        errors += [(row, labels[name], message) for row, name, message in row_errors]
        if not rows and not errors:
            errors.append((None, None, _("The file holds no devices.")))
        token = None
        if not errors:
            token = previews.save(PREVIEW_KIND, g.user.id, current_company_id(), rows)
        bad_rows = {row for row, _column, _message in errors if row}
        shown = [{"row": row.number, **row} for row in table.rows]  # as in the file, also where it is wrong
        return self._import_page(form, 422 if errors else 200, rows=shown, errors=errors, token=token,
                                 bad_rows=bad_rows, confirm_form=ConfirmImportForm(formdata=None))

    @expose("/import/confirm", methods=["POST"])
    @has_access
    def import_confirm(self):
        """Save every row of a preview without errors in one transaction, or none."""
        require_company()
        if not ConfirmImportForm().validate_on_submit():
            abort(400)
        token = request.form.get("token", "")
        rows = previews.claim(PREVIEW_KIND, token, g.user.id, current_company_id())
        if rows is None:
            db.session.rollback()
            flash(_("The preview has expired. Please upload the file again."), "warning")
            return redirect(url_for(".import_file"))
        try:
            count = devices.import_rows(current_company_id(), rows, g.user)
            db.session.commit()
        except (devices.DeviceInvalid, IntegrityError):  # a serial number added since the preview
            db.session.rollback()
            previews.discard(token)
            flash(_("Nothing was saved: the register has changed since the preview. Please upload the file again."),
                  "danger")
            return redirect(url_for(".import_file"))
        flash(ngettext("%(count)s device was added to the register.", "%(count)s devices were added to the register.",
                       count, count=count), "success")
        return redirect(url_for(".list"))

    @expose("/template.csv")
    @has_access
    def template_csv(self):
        require_company()
        return export.csv_response(f"{_('devices')}.csv", [label for _name, label in columns()], [])

    @expose("/template.xlsx")
    @has_access
    def template_xlsx(self):
        require_company()
        return export.xlsx_response(f"{_('devices')}.xlsx", [label for _name, label in columns()], [],
                                    sheet_title=_("Devices"))

    # -- export ------------------------------------------------------------------------------
    def _export_rows(self):
        q, state = self._list_args()
        stmt = devices.company_devices(current_company_id(), q, FILTERS[state])
        for d in db.session.scalars(stmt.execution_options(yield_per=500)):
            yield [d.serial_number, d.article_number, d.description, d.delivered_on, d.warranty_until,
                   d.location, d.note, _("Active") if d.active else _("Retired")]

    def _export_header(self):
        return [label for _name, label in columns()] + [_("Status")]

    @expose("/export.csv")
    @has_access
    def export_csv(self):
        """The register as searched and filtered, all pages (dates in ISO form, every spreadsheet reads it)."""
        rows = ([*r[:3], r[3].isoformat() if r[3] else "", r[4].isoformat() if r[4] else "", *r[5:]]
                for r in self._export_rows())
        return export.csv_response(f"{_('devices')}-{utcnow():%Y-%m-%d}.csv", self._export_header(), rows)

    @expose("/export.xlsx")
    @has_access
    def export_xlsx(self):
        return export.xlsx_response(f"{_('devices')}-{utcnow():%Y-%m-%d}.xlsx", self._export_header(),
                                    self._export_rows(), sheet_title=_("Devices"))


def devices_max_rows() -> int:
    from flask import current_app

    return int(current_app.config.get("IMPORT_MAX_ROWS", 1000))
