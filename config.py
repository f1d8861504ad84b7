"""Configuration: defaults here, secrets and deployment values from the environment."""
from __future__ import annotations

import os
from pathlib import Path

from flask_appbuilder.const import AUTH_DB
from flask_babel import lazy_gettext as _l

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def database_url(instance_dir: Path) -> str:
    """``DATABASE_URL`` (PostgreSQL through psycopg 3), else SQLite in ``instance/``."""
    url = env_str("DATABASE_URL")
    if not url:
        return f"sqlite:///{instance_dir / 'portal.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def default_base_url(host: str | None, port: int) -> str:
    """Where links in mails point when ``PORTAL_BASE_URL`` is not set: where the app is served
    (``HOST``/``PORT``); an address that listens everywhere is reached locally."""
    host = (host or "").strip()
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _password_rule(password: str) -> None:
    """FAB's password check; imported when called, so this file never imports the app."""
    from app.security.passwords import fab_password_rule

    fab_password_rule(password)


class Config:
    INSTANCE_DIR = Path(env_str("PORTAL_INSTANCE_DIR", str(BASE_DIR / "instance")))

    APP_NAME = _l("Key account portal")  # shown in the navbar and title, in the user's language
    APP_THEME = ""
    SQLALCHEMY_DATABASE_URI = database_url(INSTANCE_DIR)
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    # Security (FAB)
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.PortalSecurityManager"
    AUTH_TYPE = AUTH_DB
    AUTH_USER_REGISTRATION = False  # companies request access through the portal's own form
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    FAB_ADD_SECURITY_API = False  # FAB's user/role APIs stay off: users are managed in the backend
    # The REST API (/api/v1/): API keys that company admins create in "My data"
    # (stored hashed by FAB), FAB's JWT login, OpenAPI and Swagger UI (/swagger/v1).
    FAB_API_KEY_ENABLED = True
    FAB_API_KEY_PREFIXES = ["gkp_"]
    # A key is 256 random bits (FAB's token_urlsafe(32)): no guessing to slow down, so it is checked
    # with a fast salted hash instead of FAB's default scrypt, which cost ~100-350 ms on every API
    # request. Keys made with scrypt before still verify (the hash names its method).
    FAB_API_KEY_HASH_METHOD = "pbkdf2:sha256:1000"
    FAB_API_SWAGGER_UI = True
    FAB_ADD_OPENAPI_VIEWS = False  # app/api registers them, with a corrected description
    FAB_API_MAX_PAGE_SIZE = 100
    # Permissions are synced once by `flask portal setup`, not by every web worker.
    FAB_UPDATE_PERMS = env_bool("FAB_UPDATE_PERMS", False)
    # FAB's own password forms (user admin, reset password) use the portal's rule, with the data of
    # the user whose password is set (app/security/passwords.py)
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_PASSWORD_COMPLEXITY_VALIDATOR = _password_rule

    # Files
    UPLOAD_FOLDER = str(Path(env_str("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))))
    UPLOAD_MAX_FILE_SIZE = env_int("UPLOAD_MAX_FILE_SIZE", 25 * 1024 * 1024)
    # a whole request: the files of a new order together (plus the form itself)
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)
    # where attachments live: "local" (UPLOAD_FOLDER) or "s3" (an S3-compatible bucket; credentials
    # from boto3's usual sources, e.g. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
    FILE_STORAGE = (env_str("FILE_STORAGE", "local") or "local").strip().lower()
    S3_BUCKET = env_str("S3_BUCKET")
    S3_PREFIX = env_str("S3_PREFIX", "")  # e.g. "portal/attachments/"
    S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")  # MinIO, Ceph, …; unset for AWS
    S3_REGION = env_str("S3_REGION")
    UPLOAD_EXTENSIONS = tuple(
        e.strip() for e in env_str("UPLOAD_EXTENSIONS", "pdf,png,jpg,jpeg,gif,txt,csv,xlsx,docx,zip").split(",")
        if e.strip()
    )

    # Languages
    BABEL_DEFAULT_LOCALE = "de"
    BABEL_DEFAULT_TIMEZONE = env_str("PORTAL_TIMEZONE", "Europe/Berlin")
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    LANGUAGES = {
        "de": {"flag": "de", "name": "Deutsch"},
        "en": {"flag": "gb", "name": "English"},
    }

    # Sessions
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None

    # Rate limits (Flask-Limiter through FAB)
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    # memory:// counts per process; several processes or servers share redis://host:6379/0
    RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI", "memory://")
    # Redis unreachable: each process counts on its own until Redis answers again (checked with
    # growing pauses) — logins go on, limited per process; a Redis that hangs costs at most a second
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_connect_timeout": 1, "socket_timeout": 1}
    # FAB's own login limit counts successful logins too: a company behind one address
    # would lock itself out. app/security/limits.py counts failed logins only.
    AUTH_RATE_LIMITED = False
    # failed logins per account (web and API together), then that account waits
    AUTH_RATE_LIMIT = env_str("AUTH_RATE_LIMIT", "10 per minute")
    # failed logins per address over all accounts: sized for a large office behind one proxy
    AUTH_ADDRESS_RATE_LIMIT = env_str("AUTH_ADDRESS_RATE_LIMIT", "100 per minute")
    # the public order form (/repair/) and its status lookup, per address
    PUBLIC_ORDER_RATE_LIMIT = env_str("PUBLIC_ORDER_RATE_LIMIT", "5 per minute; 50 per day")
    PUBLIC_STATUS_RATE_LIMIT = env_str("PUBLIC_STATUS_RATE_LIMIT", "10 per minute; 100 per day")
    # a public form sent back sooner than this after it was shown is refused as a bot's
    PUBLIC_FORM_MIN_SECONDS = env_int("PUBLIC_FORM_MIN_SECONDS", 3)
    # a new order sent again with the same Idempotency-Key (API) or form token (portal, public form)
    # within this many hours gets the first order back; after that the key may be used again
    IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)
    # storage limitation (`flask portal retention`): personal data of orders closed this many months
    # ago is anonymised (public-form orders of senders without an account sooner), and audit entries
    # older than AUDIT_RETENTION_MONTHS are deleted
    RETENTION_MONTHS = env_int("RETENTION_MONTHS", 24)
    RETENTION_PUBLIC_MONTHS = env_int("RETENTION_PUBLIC_MONTHS", 12)
    AUDIT_RETENTION_MONTHS = env_int("AUDIT_RETENTION_MONTHS", 36)
    # two-factor login: staff (users without a company) must have it (on by default in production);
    # the name authenticator apps show for the portal; minutes between password and code at login
    TWO_FACTOR_REQUIRED_FOR_STAFF = env_bool("TWO_FACTOR_REQUIRED_FOR_STAFF", False)
    TWO_FACTOR_ISSUER = env_str("TWO_FACTOR_ISSUER", "Key account portal")
    TWO_FACTOR_LOGIN_MINUTES = env_int("TWO_FACTOR_LOGIN_MINUTES", 5)
    # a data export (My data → Data export) is offered for download this many days, then deleted
    DATA_EXPORT_DAYS = env_int("DATA_EXPORT_DAYS", 7)
    # seconds after which an export a builder claimed but did not finish is built by another one
    DATA_EXPORT_LEASE = env_int("DATA_EXPORT_LEASE", 600)
    # customer numbers KD-10001, KD-10002, ... for every new company, however it comes in
    CUSTOMER_NUMBER_START = env_int("CUSTOMER_NUMBER_START", 10001)

    # Quotes (cost estimates): defaults of a new quote, and the statuses an order moves to
    # (status codes, see Backend → Statuses; an unknown code leaves the status as it is)
    QUOTE_VAT_RATE = env_str("QUOTE_VAT_RATE", "19")  # percent
    QUOTE_CURRENCY = env_str("QUOTE_CURRENCY", "EUR")
    QUOTE_VALID_DAYS = env_int("QUOTE_VALID_DAYS", 14)
    QUOTE_MAX_LINES = 100
    QUOTE_STATUS_SENT = env_str("QUOTE_STATUS_SENT", "estimate_sent")
    QUOTE_STATUS_ACCEPTED = env_str("QUOTE_STATUS_ACCEPTED", "in_repair")
    QUOTE_STATUS_REJECTED = env_str("QUOTE_STATUS_REJECTED", "quote_rejected")
    # `flask portal quotes` (cron) reminds the company this many days before a quote expires
    QUOTE_REMINDER_DAYS = env_int("QUOTE_REMINDER_DAYS", 3)
    # the promised turnaround in working days (Mon-Fri) when a company has none of its own
    TURNAROUND_DAYS = env_int("TURNAROUND_DAYS", 10)

    # Devices: an article whose serial number comes back within this many days of its order being
    # shipped back (status code REPEAT_REPAIR_STATUS, or any final status) is a repeat repair
    REPEAT_REPAIR_DAYS = env_int("REPEAT_REPAIR_DAYS", 90)
    REPEAT_REPAIR_STATUS = env_str("REPEAT_REPAIR_STATUS", "shipped_back")
    # the largest device or article file (rows) an import reads
    IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1000)

    # Mail
    MAIL_SERVER = env_str("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USERNAME = env_str("MAIL_USERNAME")
    MAIL_PASSWORD = env_str("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = env_str("MAIL_DEFAULT_SENDER", "portal@localhost")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)  # seconds to wait for the mail server
    # seconds a sender holds a mail it took; after that it counts as abandoned (the sender died)
    # and another sender sends it. Keep it well above a few MAIL_TIMEOUTs.
    MAIL_CLAIM_LEASE = env_int("MAIL_CLAIM_LEASE", 600)
    # "request": a request sends the mail it queued right after its commit (one server, no worker);
    # "worker": requests only queue, `flask portal worker` processes deliver (several servers)
    MAIL_DELIVERY = env_str("MAIL_DELIVERY", "request")
    # how often an idle worker looks for due mail (seconds)
    WORKER_POLL_SECONDS = env_float("WORKER_POLL_SECONDS", 2.0)
    # Webhooks (company admins' endpoints for their ERP): seconds to wait for an endpoint to accept the
    # connection, and then for each read of its answer
    WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 5.0)
    # seconds a sender holds a delivery it took; then another sender may deliver it (the sender died)
    WEBHOOK_CLAIM_LEASE = env_int("WEBHOOK_CLAIM_LEASE", 300)
    # hosts (host or host:port, comma-separated) allowed although they resolve to a private or local
    # address, and allowed over http:// — e.g. an ERP in the own network; empty: internet and https only
    WEBHOOK_ALLOW_HOSTS = env_str("WEBHOOK_ALLOW_HOSTS", "")
    # without MAIL_SERVER, mails are written as .eml files here (development, tests)
    MAIL_OUTBOX_DIR = env_str("MAIL_OUTBOX_DIR")  # default: <INSTANCE_DIR>/outbox
    # staff are told about new portal orders and customer messages at this address
    MAIL_STAFF_ADDRESS = env_str("MAIL_STAFF_ADDRESS", "service@localhost")
    MAIL_STAFF_LANGUAGE = env_str("MAIL_STAFF_LANGUAGE", "de")
    # the return address printed on order slips, lines separated by "|"
    SERVICE_ADDRESS = env_str("SERVICE_ADDRESS", "Repair Service|Servicestraße 1|12345 Musterstadt|Deutschland")
    # where the app is served (`make run`, `python run.py`)
    HOST = env_str("HOST", "127.0.0.1")
    PORT = env_int("PORT", 5000)
    # links in mails point here; in production it must be set (see ProductionConfig)
    PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", default_base_url(HOST, PORT))


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    FAB_UPDATE_PERMS = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    # no guess: behind a proxy the served HOST/PORT is not the address users reach
    PORTAL_BASE_URL = env_str("PORTAL_BASE_URL")
    # staff reach every company's data: in production they log in with a second factor
    TWO_FACTOR_REQUIRED_FOR_STAFF = env_bool("TWO_FACTOR_REQUIRED_FOR_STAFF", True)


def check_settings(settings, env_name: str) -> None:
    """Refuse to start with settings that would break the portal.

    :raises RuntimeError: in production without ``SECRET_KEY`` or ``PORTAL_BASE_URL``; for an unknown
        ``FILE_STORAGE`` or ``FILE_STORAGE=s3`` without ``S3_BUCKET``.
    """
    if env_name == "production" and not (settings.get("SECRET_KEY") or os.environ.get("SECRET_KEY")):
        raise RuntimeError(
            "SECRET_KEY is not set. In production (PORTAL_ENV=production) set the same long random "
            "SECRET_KEY on every app server (e.g. python -c 'import secrets; print(secrets.token_hex(32))'): "
            "a key made up by each server would log users out whenever the load balancer sends them "
            "to another one."
        )
    storage = settings.get("FILE_STORAGE", "local")
    if storage not in ("local", "s3"):
        raise RuntimeError(f"FILE_STORAGE={storage!r} is not known: use 'local' (the folder UPLOAD_FOLDER) "
                           "or 's3' (an S3-compatible bucket, S3_BUCKET).")
    if storage == "s3" and not settings.get("S3_BUCKET"):
        raise RuntimeError("FILE_STORAGE=s3 needs S3_BUCKET: the bucket the attachments are stored in "
                           "(and S3_ENDPOINT_URL for a server other than AWS).")
    if env_name == "production" and not settings.get("PORTAL_BASE_URL"):
        raise RuntimeError(
            "PORTAL_BASE_URL is not set. In production (PORTAL_ENV=production) set it to the address "
            "users reach the portal at, e.g. PORTAL_BASE_URL=https://portal.example.com: "
            "every link in the mails starts with it."
        )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
