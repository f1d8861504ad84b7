"""Links in mails point to where the portal is reached; production refuses to guess."""
from __future__ import annotations

import importlib
import re

import pytest

import config
from app import create_app
from tests.conftest import _app_config
from tests.helpers import new_order_data


@pytest.fixture
def reload_config(monkeypatch):
    """Read config.py again with the environment a test sets; the original afterwards."""
    def reload(**env):
        for name in ("HOST", "PORT", "PORTAL_BASE_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(config)
    yield reload
    monkeypatch.undo()
    importlib.reload(config)


@pytest.mark.parametrize("host,port,expected", [
    ("127.0.0.1", 5000, "http://127.0.0.1:5000"), ("portal.local", 8080, "http://portal.local:8080"),
    ("0.0.0.0", 8000, "http://127.0.0.1:8000"), ("::1", 8000, "http://[::1]:8000"), (None, 5001, "http://127.0.0.1:5001"),
])
def test_the_default_base_url_follows_host_and_port(host, port, expected):
    assert config.default_base_url(host, port) == expected


def test_mail_links_point_to_the_port_the_app_is_served_on(reload_config, tmp_path, database_url):
    reload_config(HOST="127.0.0.1", PORT="8123")
    settings = _app_config(tmp_path, database_url)
    del settings["PORTAL_BASE_URL"]
    app = create_app(settings)
    assert app.config["PORTAL_BASE_URL"] == "http://127.0.0.1:8123"
    with app.app_context():
        from app.extensions import db
        from app.models import OutgoingMail
        from tests.factories import PASSWORD, make_company, make_user

        user = make_user(make_company("Port GmbH"), email="port@port.example")
        client = app.test_client()
        client.post("/login/", data={"username": user.email, "password": PASSWORD})
        client.post("/cc/orders/new", data=new_order_data("PO-PORT"))
        [mail] = db.session.scalars(db.select(OutgoingMail).where(OutgoingMail.kind == "order_created")).all()
        assert re.search(r"http://127\.0\.0\.1:8123/backend/orders/show/\d+", mail.body)
        db.session.remove()


def test_an_explicit_base_url_wins(reload_config):
    assert reload_config(HOST="0.0.0.0", PORT="8000",
                         PORTAL_BASE_URL="https://portal.example.com").Config.PORTAL_BASE_URL \
        == "https://portal.example.com"


def test_production_refuses_to_start_without_a_base_url(reload_config, monkeypatch, tmp_path, database_url):
    reload_config(HOST="0.0.0.0", PORT="8000")
    monkeypatch.setenv("PORTAL_ENV", "production")
    settings = _app_config(tmp_path, database_url)
    del settings["PORTAL_BASE_URL"]
    with pytest.raises(RuntimeError, match=r"PORTAL_BASE_URL is not set.*PORTAL_ENV=production"):
        create_app(settings)
    settings["PORTAL_BASE_URL"] = "https://portal.example.com"
    assert create_app(settings).config["PORTAL_BASE_URL"] == "https://portal.example.com"


def test_production_refuses_to_start_without_a_shared_secret_key(reload_config, monkeypatch, tmp_path, database_url):
    """Several servers must sign sessions with the same key; production never makes one up."""
    reload_config(HOST="0.0.0.0", PORT="8000")
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = {**_app_config(tmp_path, database_url), "PORTAL_BASE_URL": "https://portal.example.com"}
    del settings["SECRET_KEY"]
    with pytest.raises(RuntimeError, match=r"SECRET_KEY is not set.*every app server"):
        create_app(settings)
    assert not (tmp_path / "instance" / "secret_key").exists()
    monkeypatch.setenv("SECRET_KEY", "k" * 64)
    assert create_app(settings).config["SECRET_KEY"] == "k" * 64
