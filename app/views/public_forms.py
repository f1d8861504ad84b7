"""Forms anyone can send without an account: the public order form and the status lookup."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.views.portal_forms import REQUIRED, ArticlesForm, email_field, required_text


class PublicOrderForm(ArticlesForm):
    """Customer data, articles, files, consent; ``website`` and ``started`` keep bots out."""

    customer_name = required_text(_l("Company or name"), 200)
    contact_person = StringField(_l("Contact person"), validators=[Optional(), Length(max=200)])
    street = required_text(_l("Street"), 200)
    postcode = required_text(_l("Postcode"), 20)
    city = required_text(_l("City"), 100)
    country = required_text(_l("Country"), 100)
    email = email_field()
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    reference = StringField(_l("Reference number"), validators=[Optional(), Length(max=100)])
    privacy = BooleanField(
        _l("I agree that my data is stored and processed to handle this repair order."),
        validators=[DataRequired(_l("Please agree, or we cannot handle your order."))],
    )
    # A field people never see: bots fill it in.
    website = StringField(validators=[Optional(), Length(max=200)])
    # When the form was shown, signed (app.security.bots).
    started = HiddenField()


class StatusLookupForm(FlaskForm):
    rma_number = StringField(_l("RMA number"), validators=[DataRequired(REQUIRED), Length(max=40)])
    # no format check: whatever was typed is looked up, and a typo gets the one "not found" answer
    email = EmailField(_l("Email"), validators=[DataRequired(REQUIRED), Length(max=320)])
