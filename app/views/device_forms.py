"""Forms of the device register. The rules (lengths, dates, unique serial number) are
:mod:`app.services.devices`; its messages are put next to the fields."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from app.views.portal_forms import REQUIRED


class DeviceForm(FlaskForm):
    serial_number = StringField(_l("Serial number"), validators=[DataRequired(REQUIRED)],
                                render_kw={"maxlength": 100, "autocomplete": "off"})
    article_number = StringField(_l("Article number"), render_kw={"maxlength": 100})
    description = StringField(_l("Description"), validators=[DataRequired(REQUIRED)], render_kw={"maxlength": 200})
    delivered_on = StringField(_l("Delivery date"), render_kw={"type": "date"})
    warranty_until = StringField(_l("Warranty until"), render_kw={"type": "date"})
    location = StringField(_l("Location or cost centre"), render_kw={"maxlength": 100})
    note = TextAreaField(_l("Note"), render_kw={"maxlength": 2000, "rows": 3})

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("serial_number", "article_number", "description", "delivered_on", "warranty_until", "location",
                 "note")}


class DeviceImportForm(FlaskForm):
    file = FileField(_l("File (CSV or XLSX)"), validators=[DataRequired(_l("Please choose a file."))])


class ConfirmImportForm(FlaskForm):
    """Only the token of the preview kept on the server: the rows never travel through the browser."""
