"""Flask-AppBuilder's own messages that its German catalogue lacks, leaves empty or marks fuzzy.

Never imported: this file exists only so that ``pybabel extract`` (see the
``[python: translations/fab_strings.py]`` section of ``babel.cfg``) puts these msgids
into ``translations/messages.pot``. ``pybabel update`` drops every entry that is not in
the template, so translations added by hand to the .po files would not survive.

At runtime Flask-Babel merges our catalogue over FAB's (FAB's directory comes first in
``BABEL_TRANSLATION_DIRECTORIES``), so these entries fill the gaps on the staff backend
pages. Checked against Flask-AppBuilder 5.3.0 (``flask_appbuilder/translations/de``);
re-check after upgrading FAB.
"""


def _(message: str) -> str:
    return message


# templates/appbuilder/general/lib.html: the record buttons of list and show pages
_("Add")
_("Edit")
_("Show")
_("Delete")
_("Are you sure you want to delete this item?")

# baseviews.py: flashed when saving a record fails
_("Database Error")

# fields.py: select fields of relations (fuzzy in FAB's catalogue)
_("Not a valid choice")

# models/sqla/filters.py and models/generic/filters.py: search filters
_("In")
_("Not In")
_("Start with")

# validators.py: FAB's password complexity check (FAB_PASSWORD_COMPLEXITY_ENABLED),
# used by FAB's user views
_("Must have at least two capital letters, one special character, two digits, three lower case letters and a minimal length of 10.")

# security/views.py and security/forms.py: FAB's user, role and group management (admins)
_("Groups")
_("Show Group")
_("Add Group")
_("Edit Group")
_("The user's password for authentication")
_("The user group on the application, this will associate with a list of roles associated with the group")
_("Either select a role or a group")
_("User(s) exists in the role, cannot delete")
_("User(s) exists in the group, cannot delete")
