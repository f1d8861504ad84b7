"""Unbound extensions, initialised by the factory in ``app/__init__.py``."""
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_mail import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

# One metadata for FAB's ab_* tables and ours, so Alembic sees both.
db = SQLA(metadata=Model.metadata)
csrf = CSRFProtect()
migrate = Migrate()
mail = Mail()
