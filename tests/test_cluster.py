"""Two app servers (gunicorn) and two workers on one PostgreSQL, one Redis and one mail server —
each server with its own disk — and a client that spreads its requests over both servers.

Runs in the PostgreSQL pass of `make test` (the multi-server installation runs on PostgreSQL)."""
from __future__ import annotations

import itertools
import time
from collections import Counter

import pytest
import redis
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutgoingMail
from app.security.roles import COMPANY_ADMIN
from tests.cluster import Cluster, web_session
from tests.conftest import BACKEND
from tests.factories import PASSWORD, make_user
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="the cluster runs on PostgreSQL: the second pass of `make test`")


@pytest.fixture
def cluster(app, tmp_path, database_url, redis_server):
    redis.Redis.from_url(redis_server.url()).flushdb()
    with SmtpSink(delay=0.02) as sink:
        env = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": redis_server.url(),
               "AUTH_RATE_LIMIT": "10 per minute", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
               "PORTAL_BASE_URL": "http://portal.example"}
        running = Cluster(tmp_path / "cluster", env).start()
        running.sink = sink
        try:
            yield running
        finally:
            codes = running.stop()
    assert all(code == 0 for code in codes), codes  # SIGTERM stops every part cleanly


def _wait_for(condition, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_login_on_one_server_holds_on_the_other(cluster, company_a, customer_a):
    one, two = cluster.urls
    session, response = web_session(one, customer_a.email, PASSWORD)
    assert response.status_code == 302
    page = session.get(two + "/cc/orders/", timeout=10)
    assert page.status_code == 200 and "/login" not in page.url and customer_a.last_name in page.text


def test_wrong_passwords_over_both_servers_are_limited_as_one(cluster, company_a, customer_a):
    servers = itertools.cycle(cluster.urls)
    for _ in range(10):
        _session, response = web_session(next(servers), customer_a.email, "wrong-password")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    for url in cluster.urls:  # the 11th is refused on either server, even with the right password
        _session, response = web_session(url, customer_a.email, PASSWORD)
        assert response.status_code == 429


def test_mail_of_orders_made_on_both_servers_goes_out_once_through_the_workers(cluster, company_a):
    admin = make_user(company_a, role=COMPANY_ADMIN, email="erp@alpha.example")
    admin.notify_status = "none"
    db.session.commit()
    tokens = {}
    for url in cluster.urls:
        response = requests.post(url + "/api/v1/security/login", timeout=10,
                                 json={"username": admin.email, "password": PASSWORD, "provider": "db"})
        tokens[url] = response.json()["access_token"]
    servers = itertools.cycle(cluster.urls)
    for n in range(20):
        url = next(servers)
        response = requests.post(url + "/api/v1/orders/", timeout=20, headers={"Authorization": f"Bearer {tokens[url]}"},
                                 json={"reference": f"ERP-{n:03d}",
                                       "items": [{"description": "Scanner", "fault_description": "dunkel"}]})
        assert response.status_code == 201, response.text
    assert db.session.scalar(select(func.count(Order.id)).where(Order.company_id == company_a.id)) == 20

    def all_sent():
        db.session.expire_all()
        return db.session.scalar(select(func.count(OutgoingMail.id)).where(OutgoingMail.sent_at.is_(None))) == 0

    assert _wait_for(all_sent)
    mails = db.session.scalars(select(OutgoingMail)).all()
    assert len(mails) >= 20 and all(m.attempts == 1 for m in mails)
    received = Counter(cluster.sink.subjects())
    assert sorted(received.elements()) == sorted(m.subject for m in mails) and max(received.values()) == 1
