"""Limits shared by several servers: the login limits count in Redis (``RATELIMIT_STORAGE_URI``),
so wrong passwords spread over two app servers are limited as one; a Redis that goes away leaves
each server counting on its own, logins keep working."""
from __future__ import annotations

import pytest
import redis

from app import create_app
from app.extensions import db
from tests.conftest import _app_config
from tests.redisserver import RedisServer
from tests.test_hardening import api_login, web_login

LIMITS = {"RATELIMIT_ENABLED": True, "AUTH_RATE_LIMIT": "10 per minute", "AUTH_ADDRESS_RATE_LIMIT": "100 per minute"}


def _server(tmp_path, name, database_url, storage_uri):
    """One app server: its own instance folder and uploads, the shared database and limit storage."""
    app = create_app({**_app_config(tmp_path / name, database_url), **LIMITS, "RATELIMIT_STORAGE_URI": storage_uri})
    return app


def _close(*apps):
    for app in apps:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def shared_redis(redis_server):
    redis.Redis.from_url(redis_server.url()).flushdb()
    return redis_server.url()


def test_wrong_passwords_over_two_servers_are_limited_as_one(tmp_path, database_url, shared_redis, customer_a,
                                                              customer_b):
    one, two = _server(tmp_path, "one", database_url, shared_redis), _server(tmp_path, "two", database_url,
                                                                              shared_redis)
    try:
        c1, c2 = one.test_client(), two.test_client()
        # 10 wrong passwords, alternating between the servers and between the web and the API
        for i in range(10):
            if i % 2:
                assert web_login(c1, customer_a.email, "wrong", address=f"10.0.0.{i}") == "wrong"
            else:
                assert api_login(c2, customer_a.email, "wrong", address=f"10.0.0.{i}").status_code == 401
        # the 11th attempt is refused on either server, even with the right password
        assert web_login(c1, customer_a.email, address="10.0.9.1").status_code == 429
        assert api_login(c2, customer_a.email, address="10.0.9.2").status_code == 429
        # another account is not affected, on either server
        assert web_login(c2, customer_b.email) == "in"
        assert api_login(c1, customer_b.email).status_code == 200
        # the counts are in Redis, not in the processes
        assert any(b"login-account" in key for key in redis.Redis.from_url(shared_redis).keys("*"))
    finally:
        _close(one, two)


def test_per_process_counting_is_what_redis_replaces(tmp_path, database_url, customer_a):
    """The embedded default (memory://) counts per process: two servers would allow twice the
    wrong passwords. This is why a multi-server installation sets RATELIMIT_STORAGE_URI."""
    one, two = _server(tmp_path, "one", database_url, "memory://"), _server(tmp_path, "two", database_url,
                                                                          "memory://")
    try:
        c1, c2 = one.test_client(), two.test_client()
        for i in range(10):
            assert web_login(c1 if i % 2 else c2, customer_a.email, "wrong") == "wrong"
        assert web_login(c1, customer_a.email, "wrong") == "wrong"  # only 5 counted on each
    finally:
        _close(one, two)


def test_logins_go_on_when_redis_goes_away(tmp_path, database_url, customer_a, customer_b):
    own = RedisServer().start()
    app = _server(tmp_path, "one", database_url, own.url())
    try:
        c = app.test_client()
        assert web_login(c, customer_a.email) == "in"
        own.stop()  # Redis is gone: the server counts on its own
        assert web_login(app.test_client(), customer_b.email) == "in"
        c = app.test_client()
        for _ in range(10):
            assert web_login(c, customer_a.email, "wrong") == "wrong"
        assert web_login(c, customer_a.email).status_code == 429  # still limited, in this process
    finally:
        own.stop()
        _close(app)
