"""Forms of the customer portal. Every message is shown next to its field."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from app.models import LANGUAGES, NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_MESSAGE_CHOICES, NOTIFY_MINE, NOTIFY_NONE, \
    PAGE_SIZES
from app.security.passwords import HELP as PASSWORD_HELP, StrongPassword
from app.services import files

MAX_ARTICLES = 50
REQUIRED = _l("Please fill in this field.")


def required_text(label, max_length: int) -> StringField:
    return StringField(label, validators=[DataRequired(REQUIRED), Length(max=max_length)])


def email_field() -> EmailField:
    return EmailField(
        _l("Email"),
        validators=[DataRequired(REQUIRED), Length(max=320),
                    Email(_l("Please enter a valid email address."), check_deliverability=False)],
    )


def check_file_types(form, field):
    """Refuse a file type outside the allow-list before anything is stored."""
    for upload in files.real_files(field.data):
        try:
            files.check_extension(files.clean_original_name(upload.filename))
        except files.UploadRefused as refused:
            raise ValidationError(refused.message)


class ArticleForm(Form):
    article_number = StringField(_l("Article number"), validators=[Optional(), Length(max=100)])
    description = StringField(_l("Description"), validators=[DataRequired(REQUIRED), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[
            InputRequired(_l("Please enter a quantity.")),
            NumberRange(min=1, max=100000, message=_l("The quantity must be at least 1.")),
        ],
    )
    fault_description = TextAreaField(
        _l("Fault description"), validators=[DataRequired(REQUIRED), Length(max=5000)]
    )
    files = MultipleFileField(_l("Files"), validators=[check_file_types])


class ArticlesForm(FlaskForm):
    """Articles with their files, and files for the whole order: every new-order form has them."""

    items = FieldList(FormField(ArticleForm), min_entries=1, max_entries=MAX_ARTICLES)
    files = MultipleFileField(_l("Files"), validators=[check_file_types])
    # one-time token given when the form is shown: the same form sent twice makes one order
    form_token = HiddenField()

    def validate_items(self, field):
        if not field.entries:
            raise ValidationError(_l("Please add at least one article."))


class NewOrderForm(ArticlesForm):
    reference = StringField(_l("Reference number"), validators=[DataRequired(REQUIRED), Length(max=100)])


class UploadForm(FlaskForm):
    target = SelectField(_l("For"), choices=[], validate_choice=True)
    files = MultipleFileField(_l("Files"), validators=[check_file_types])

    def validate_files(self, field):
        if not files.real_files(field.data):
            raise ValidationError(_l("Please choose at least one file."))


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class StaffMessageForm(MessageForm):
    internal = BooleanField(_l("Internal note (the customer does not see it)"))


class SetPasswordForm(FlaskForm):
    """The welcome mail's link: nobody is logged in, the user comes from the link's token."""

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.password_user = user  # whose name and email the new password must not contain

    new_password = PasswordField(_l("New password"), description=PASSWORD_HELP,
                                 validators=[DataRequired(REQUIRED), StrongPassword()])
    repeat_password = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(REQUIRED), EqualTo("new_password", _l("The passwords do not match."))],
    )


class PersonalDataForm(FlaskForm):
    first_name = required_text(_l("First name"), 64)
    last_name = required_text(_l("Last name"), 64)
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)])
    new_password = PasswordField(
        _l("New password"), description=PASSWORD_HELP, validators=[DataRequired(REQUIRED), StrongPassword()]
    )
    repeat_password = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(REQUIRED), EqualTo("new_password", _l("The passwords do not match."))],
    )


class SettingsForm(FlaskForm):
    language = SelectField(
        _l("Language"), choices=[("de", "Deutsch"), ("en", "English")], validators=[DataRequired()]
    )
    page_size = SelectField(
        _l("Orders per page"), choices=[(n, str(n)) for n in PAGE_SIZES], coerce=int
    )
    notify_status = SelectField(
        _l("Notifications"),
        choices=[(NOTIFY_ALL, _l("Every status change")), (NOTIFY_FINAL, _l("Only final statuses")),
                 (NOTIFY_NONE, _l("None"))],
        validate_choice=False,  # left out: the setting stays as it is
    )

    notify_messages = SelectField(
        _l("Messages from our service team"),
        choices=[(NOTIFY_ALL, _l("On all of my company's orders")),
                 (NOTIFY_MINE, _l("Only on orders I placed or wrote about")), (NOTIFY_NONE, _l("None"))],
        validate_choice=False,  # left out: the setting stays as it is
    )

    def validate_notify_messages(self, field):
        if field.data not in (None, "", *NOTIFY_MESSAGE_CHOICES):
            raise ValidationError(_l("Not a valid choice."))

    def validate_notify_status(self, field):
        if field.data not in (None, "", NOTIFY_ALL, NOTIFY_FINAL, NOTIFY_NONE):
            raise ValidationError(_l("Not a valid choice."))

    def validate_language(self, field):
        if field.data not in LANGUAGES:
            raise ValidationError(_l("Please choose a language."))


class EmployeeForm(FlaskForm):
    first_name = required_text(_l("First name"), 64)
    last_name = required_text(_l("Last name"), 64)
    email = email_field()
    # the employee's portal and mails; the view sets the admin's language as the default
    language = SelectField(_l("Language"), choices=[("de", "Deutsch"), ("en", "English")],
                           validate_choice=False)
    may_approve_quotes = BooleanField(_l("May approve quotes"))

    def validate_language(self, field):
        if field.data not in LANGUAGES:
            raise ValidationError(_l("Please choose a language."))


class RegistrationForm(FlaskForm):
    company_name = required_text(_l("Company"), 200)
    street = required_text(_l("Street"), 200)
    postcode = required_text(_l("Postcode"), 20)
    city = required_text(_l("City"), 100)
    country = required_text(_l("Country"), 100)
    first_name = required_text(_l("First name"), 64)
    last_name = required_text(_l("Last name"), 64)
    email = email_field()
    phone = required_text(_l("Phone"), 50)
    message = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
    # A field people never see: bots fill it in.
    website = StringField(validators=[Optional(), Length(max=200)])


# -- quotes: the customer's decision and the company's quote settings ----------------

class AcceptQuoteForm(FlaskForm):
    """The version comes as a plain hidden input; the service checks the PO number."""

    po_number = StringField(_l("Purchase order number"), validators=[Optional(), Length(max=50)])


class RejectQuoteForm(FlaskForm):
    # the service refuses a missing choice, with its message next to the field
    reject_action = RadioField(_l("What should happen to the devices?"),
                               choices=[("return", _l("Return unrepaired")), ("dispose", _l("Dispose"))],
                               validate_choice=False)


class QuoteSettingsForm(FlaskForm):
    approval_limit = StringField(_l("Approval limit"), validators=[DataRequired(REQUIRED), Length(max=20)])
    po_number_required = BooleanField(_l("Purchase order number required"))


class LogOutEverywhereForm(FlaskForm):
    """Only the CSRF token: the button acts on the logged-in user."""


class EmployeeQuoteRightForm(FlaskForm):
    may_approve_quotes = BooleanField(_l("May approve quotes"))


class OrderFromFileForm(FlaskForm):
    """"From file": the reference number typed in, the articles from a CSV or XLSX file."""

    reference = StringField(_l("Reference number"), validators=[DataRequired(REQUIRED), Length(max=100)])
    file = MultipleFileField(_l("File (CSV or XLSX)"))

    def validate_file(self, field):
        chosen = files.real_files(field.data)
        if len(chosen) != 1:
            raise ValidationError(_l("Please choose one CSV or XLSX file."))


class DataExportForm(FlaskForm):
    """Which data export: one's own (``user``) or the company's (``company``, company admins)."""

    scope = HiddenField(validators=[DataRequired(), AnyOf(("user", "company"))])


APP_CODE_HELP = _l("The 6-digit code your authenticator app shows now.")


class TwoFactorCodeForm(FlaskForm):
    """Confirms the app at setup, or new recovery codes: a code from the app."""

    code = StringField(_l("Login code"), description=APP_CODE_HELP, validators=[DataRequired(REQUIRED), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"})


class TwoFactorOffForm(FlaskForm):
    """Turning two-factor login off takes the password and a code: a session left open is not enough."""

    current_password = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED)],
                                     render_kw={"autocomplete": "current-password"})
    code = StringField(_l("Login code"), description=APP_CODE_HELP, validators=[DataRequired(REQUIRED), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"})


class TwoFactorRequirementForm(FlaskForm):
    """A company admin: every user of the company logs in with a second factor."""

    require_two_factor = BooleanField(_l("Two-factor login for every user"))


class TwoFactorRestartForm(FlaskForm):
    """Only the CSRF token: "Show a new key" acts on the logged-in user's setup."""
