"""The key account portal: application factory."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_appbuilder import AppBuilder
from sqlalchemy import event
from sqlalchemy.engine import Engine

import config as config_module
from app.extensions import csrf, db, mail, migrate

MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")


def _secret_key(instance_dir: Path) -> str:
    """``SECRET_KEY`` from the environment, else generated once and kept in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite: enforce foreign keys, WAL for concurrent readers, wait instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` is a dict of overrides (used by the tests)."""
    app = Flask(__name__)
    env_name = os.environ.get("PORTAL_ENV", "development")
    app.config.from_object(config_module.CONFIGS.get(env_name, config_module.DevelopmentConfig))
    if config:
        app.config.update(config)
    config_module.check_settings(app.config, env_name)

    instance_dir = Path(app.config["INSTANCE_DIR"])
    instance_dir.mkdir(parents=True, exist_ok=True)
    Path(app.config["UPLOAD_FOLDER"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("MAIL_OUTBOX_DIR"):
        app.config["MAIL_OUTBOX_DIR"] = str(instance_dir / "outbox")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance_dir)

    db.init_app(app)
    # CSRF before AppBuilder: FAB does not install it, and its API login needs the order.
    csrf.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    mail.init_app(app)

    with app.app_context():
        appbuilder = AppBuilder(base_template="base.html", indexview=_index_view())
        appbuilder.init_app(app, db.session)
        from app.views import register_views

        register_views(appbuilder)
        from app.api import register_apis

        register_apis(appbuilder)
        from app.security.limits import install_login_limits

        install_login_limits(appbuilder)

    from app.errors import refuse_impossible_ids, refuse_unknown_fab_actions, register_error_handlers
    from app.i18n import init_i18n

    init_i18n(app)
    register_error_handlers(app)
    refuse_unknown_fab_actions(app)
    refuse_impossible_ids(app)
    from app.security.first_login import require_own_password, require_two_factor

    require_own_password(app)
    require_two_factor(app)
    from app.security.sessions import install_session_versions

    install_session_versions(app)
    from app.security.headers import install_security_headers

    install_security_headers(app)
    from app.services.mail import init_mail_delivery

    init_mail_delivery(app)
    from app.services.webhooks import init_webhook_delivery

    init_webhook_delivery(app)

    from app.transactions import install_transactions

    install_transactions(app)
    from app.after_response import install_after_response

    install_after_response(app)
    from app.serving import health, install_request_ids

    app.register_blueprint(health)
    csrf.exempt(health)
    install_request_ids(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def _index_view():
    from app.views.index import PortalIndexView

    return PortalIndexView
