"""Fixtures: a fresh database per test (cloned from a migrated template), one client per role.

``TEST_DB=postgresql`` runs the suite on a throwaway PostgreSQL cluster that the
session starts and removes itself; the default is SQLite.
"""
from __future__ import annotations

import itertools
import os
import shutil

os.environ["PORTAL_ENV"] = "testing"
os.environ.pop("DATABASE_URL", None)

import contextvars  # noqa: E402

import jinja2  # noqa: E402
import pytest  # noqa: E402
from flask.globals import _cv_app  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.security import roles  # noqa: E402
from tests import factories, pgcluster, redisserver, s3server  # noqa: E402

BACKEND = os.environ.get("TEST_DB", "sqlite")
_db_seq = itertools.count(1)


def _setup_database(app) -> None:
    """What `flask db upgrade` + `flask portal setup` do on a new installation."""
    from flask_migrate import upgrade

    from app.cli import setup_installation

    with app.app_context():
        upgrade()
        setup_installation()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# Passwords in tests are hashed with one round of PBKDF2 instead of scrypt (~0.2 s per hash and
# again per login, for every user a test creates): what is tested is which password is accepted,
# not the cost of guessing it. The app reads the method from each stored hash, so servers the tests
# start verify these hashes too.
TEST_HASH_METHOD = "pbkdf2:sha256:1"
_FAKE_HASH = generate_password_hash("password", method=TEST_HASH_METHOD)


class SharedTemplateCache(jinja2.BytecodeCache):
    """Compiled templates shared by the apps of one test process. Every test builds its own app,
    whose Jinja environment would compile each template it renders again (~0.3 s of a portal page
    test); the cache is keyed by template name and checked against the source."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SharedTemplateCache()


def _share_url_builders() -> None:
    """Werkzeug compiles Python code for each URL rule of each new app (half of ``create_app``,
    which every test calls). The code depends only on the rule's parts, defaults and converters
    (the converters are looked up on the rule when a URL is built), so equal rules of the apps of
    one test process share it. Without werkzeug's ``Rule._compile_builder`` nothing is shared."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        return
    builders: dict = {}

    def shared(self, append_unknown: bool = True):
        defaults = self.defaults or {}
        key = (self.rule, tuple(self._trace), append_unknown,
               tuple((name, repr(value)) for name, value in defaults.items()),
               tuple((name, type(conv).__qualname__) for name, conv in self._converters.items()))
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared


_share_url_builders()


def _app_config(tmp, url: str) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_DIR": str(tmp / "instance"),
        "UPLOAD_FOLDER": str(tmp / "uploads"),
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "MAIL_SERVER": None,
        "PORTAL_BASE_URL": "http://127.0.0.1:5000",  # whatever HOST/PORT the test run has
        "SECRET_KEY": "test-secret",
        "FAB_UPDATE_PERMS": False,
        "FAB_PASSWORD_HASH_METHOD": TEST_HASH_METHOD,
        # FAB checks this hash for an unknown user, to take as long as a known one: as cheap here
        "AUTH_DB_FAKE_PASSWORD_HASH_CHECK": _FAKE_HASH,
    }


@pytest.fixture(scope="session")
def pg_cluster():
    if BACKEND != "postgresql":
        yield None
        return
    if not pgcluster.available():
        pytest.exit("TEST_DB=postgresql but initdb/pg_ctl are not installed", returncode=3)
    cluster = pgcluster.Cluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_server():
    """A real Redis for what several servers share (limits). Without redis-server installed the
    tests that need it fail in CI and are skipped, with the reason, on a developer's machine."""
    if not redisserver.available():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = redisserver.RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server in its own process (only for the tests that ask for it), with
    one bucket; each test stores under its own prefix. boto3 in the app finds the credentials in
    the environment, as in production."""
    saved = {name: os.environ.get(name) for name in s3server.CREDENTIALS}
    os.environ.update(s3server.CREDENTIALS)
    server = s3server.S3Server().start()
    yield server
    server.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def app_overrides():
    """Settings a test module adds to the app's (e.g. ``FILE_STORAGE``)."""
    return {}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory, pg_cluster):
    """A migrated, set-up database that every test clones."""
    tmp = tmp_path_factory.mktemp("template")
    if pg_cluster is None:
        path = tmp / "template.db"
        url = f"sqlite:///{path}"
    else:
        pg_cluster.execute("CREATE DATABASE portal_template")
        url = pg_cluster.url("portal_template")
        path = None
    _setup_database(create_app(_app_config(tmp, url)))
    return path


@pytest.fixture
def database_url(tmp_path, template_db, pg_cluster):
    if pg_cluster is None:
        target = tmp_path / "portal.db"
        shutil.copyfile(template_db, target)
        yield f"sqlite:///{target}"
        return
    name = f"portal_test_{next(_db_seq)}"
    pg_cluster.execute(f"CREATE DATABASE {name} TEMPLATE portal_template")
    yield pg_cluster.url(name)
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production.

    The tests keep an app context (and a database session) of their own; without
    this, requests would share its ``g`` and session, and a user loaded once
    would never be reloaded (hiding, e.g., that a deactivated user is logged out).
    """

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            response = FlaskClient.open(self, *args, **kwargs)
            response.get_data()  # a streamed body is produced here, inside the request's context
            return response

        response = contextvars.copy_context().run(run)
        db.session.expire_all()  # the test sees what the request committed
        return response


@pytest.fixture
def app(tmp_path, database_url, app_overrides):
    app = create_app({**_app_config(tmp_path, database_url), **app_overrides})
    app.test_client_class = IsolatedClient
    app.jinja_env.undefined = jinja2.StrictUndefined
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


anonymous = client


def login(client, email: str, password: str = factories.PASSWORD):
    return client.post("/login/", data={"username": email, "password": password}, follow_redirects=False)


def _client_for(app, user):
    c = app.test_client()
    response = login(c, user.email)
    assert response.status_code == 302 and "/login" not in response.headers["Location"], "login failed"
    return c


@pytest.fixture
def company_a(app):
    return factories.make_company("Alpha Antriebe GmbH")


@pytest.fixture
def company_b(app):
    return factories.make_company("Beta Instruments Ltd")


@pytest.fixture
def staff_user(app):
    user = factories.make_user(None, roles.STAFF, email="staff@example.org")
    assert [r.name for r in user.roles] == [roles.STAFF]
    return user


@pytest.fixture
def staff_client(app, staff_user):
    return _client_for(app, staff_user)


@pytest.fixture
def customer_a(app, company_a):
    user = factories.make_user(company_a, roles.CUSTOMER, email="employee@alpha.example")
    assert [r.name for r in user.roles] == [roles.CUSTOMER] and user.company_id == company_a.id
    return user


@pytest.fixture
def company_admin_a(app, company_a):
    user = factories.make_user(company_a, roles.COMPANY_ADMIN, email="admin@alpha.example")
    assert [r.name for r in user.roles] == [roles.COMPANY_ADMIN] and user.company_id == company_a.id
    return user


@pytest.fixture
def customer_b(app, company_b):
    user = factories.make_user(company_b, roles.CUSTOMER, email="employee@beta.example")
    assert [r.name for r in user.roles] == [roles.CUSTOMER] and user.company_id == company_b.id
    return user


@pytest.fixture
def company_admin_b(app, company_b):
    user = factories.make_user(company_b, roles.COMPANY_ADMIN, email="admin@beta.example")
    assert [r.name for r in user.roles] == [roles.COMPANY_ADMIN] and user.company_id == company_b.id
    return user


@pytest.fixture
def customer_client(app, customer_a):
    return _client_for(app, customer_a)


@pytest.fixture
def company_admin_client(app, company_admin_a):
    return _client_for(app, company_admin_a)
