"""Forms of the backend that FAB does not generate."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class StaffItemForm(FlaskForm):
    class Meta:
        csrf = False  # CSRFProtect checks the token of the whole request

    article_number = StringField(_l("Article number"), validators=[Optional(), Length(max=100)])
    description = StringField(_l("Description"), validators=[DataRequired(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    quantity = IntegerField(
        _l("Quantity"), default=1, validators=[DataRequired(), NumberRange(min=1, max=100000)]
    )
    fault_description = TextAreaField(_l("Fault description"), validators=[Optional(), Length(max=5000)])
