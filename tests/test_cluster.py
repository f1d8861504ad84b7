"""Two app servers (gunicorn) and two workers on one PostgreSQL, one Redis and one mail server —
each server with its own disk — and a client that spreads its requests over both servers.

Runs in the PostgreSQL pass of `make test` (the multi-server installation runs on PostgreSQL)."""
from __future__ import annotations

import itertools
import re
import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import redis
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Order, OutgoingMail, WEBHOOK_EVENTS
from app.services import webhooks
from app.security.roles import COMPANY_ADMIN
from tests.cluster import BIN, ROOT, Cluster, web_session
from tests.conftest import BACKEND
from tests.factories import PASSWORD, make_user
from tests.helpers import PDF
from tests.s3server import BUCKET
from tests.smtp_sink import SmtpSink
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.skipif(BACKEND != "postgresql",
                                reason="the cluster runs on PostgreSQL: the second pass of `make test`")


@pytest.fixture
def cluster(app, tmp_path, database_url, redis_server, s3_server):
    redis.Redis.from_url(redis_server.url()).flushdb()
    prefix = f"cluster-{uuid.uuid4().hex[:12]}/"
    with SmtpSink(delay=0.02) as sink, Receiver() as receiver:
        env = {"DATABASE_URL": database_url, "RATELIMIT_STORAGE_URI": redis_server.url(),
               "AUTH_RATE_LIMIT": "10 per minute", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink.port),
               "PORTAL_BASE_URL": "http://portal.example", "FILE_STORAGE": "s3", "S3_BUCKET": BUCKET,
               "S3_PREFIX": prefix, "S3_ENDPOINT_URL": s3_server.url, "S3_REGION": "us-east-1",
               "WEBHOOK_ALLOW_HOSTS": f"127.0.0.1:{receiver.port}"}
        app.config["WEBHOOK_ALLOW_HOSTS"] = env["WEBHOOK_ALLOW_HOSTS"]  # where the test registers the endpoint
        running = Cluster(tmp_path / "cluster", env).start()
        running.sink, running.receiver, running.s3, running.prefix = sink, receiver, s3_server, prefix
        try:
            yield running
        finally:
            codes = running.stop()
    assert all(code == 0 for code in codes), codes  # SIGTERM stops every part that is still running


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


def _api_token(url, email) -> dict:
    response = requests.post(url + "/api/v1/security/login", timeout=10,
                             json={"username": email, "password": PASSWORD, "provider": "db"})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_a_file_uploaded_through_one_server_downloads_through_the_other(cluster, company_a, customer_a):
    one, two = cluster.urls
    created = requests.post(one + "/api/v1/orders/", headers=_api_token(one, customer_a.email), timeout=20,
                            json={"reference": "FILE-1", "items": [{"description": "Pumpe", "fault_description": "x"}]})
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    content = PDF + b"measured on server one " * 5000
    uploaded = requests.post(f"{one}/api/v1/orders/{order_id}/files", headers=_api_token(one, customer_a.email),
                             files={"file": ("report.pdf", content, "application/pdf")}, timeout=20)
    assert uploaded.status_code in (200, 201), uploaded.text
    listed = requests.get(f"{two}/api/v1/orders/{order_id}/files", headers=_api_token(two, customer_a.email),
                          timeout=10).json()["result"]
    [entry] = [f for f in listed if f["name"] == "report.pdf"]
    download = requests.get(f"{two}/api/v1/orders/{order_id}/files/{entry['id']}",
                            headers=_api_token(two, customer_a.email), timeout=20)
    assert download.status_code == 200 and download.content == content
    session, _ = web_session(two, customer_a.email, PASSWORD)
    page = session.get(f"{two}/cc/orders/{order_id}", timeout=10)
    link = re.search(rf'href="(/cc/orders/{order_id}/files/\d+)"', page.text).group(1)
    assert session.get(two + link, timeout=20).content == content  # the portal's download too


def test_webhooks_of_orders_on_both_servers_are_delivered_once(cluster, company_a, company_b):
    admin = make_user(company_a, role=COMPANY_ADMIN, email="hooks@alpha.example")
    admin_b = make_user(company_b, role=COMPANY_ADMIN, email="hooks@beta.example")
    endpoint = webhooks.create_endpoint(company_a.id, cluster.receiver.url(), WEBHOOK_EVENTS, admin)
    db.session.commit()
    servers = itertools.cycle(cluster.urls)
    for n in range(12):
        url, who = next(servers), (admin if n % 3 else admin_b)  # B's orders: no event for A
        response = requests.post(url + "/api/v1/orders/", headers=_api_token(url, who.email), timeout=20,
                                 json={"reference": f"HOOK-{n:02d}",
                                       "items": [{"description": "Waage", "fault_description": "x"}]})
        assert response.status_code == 201, response.text
    assert _wait_for(lambda: len(cluster.receiver.requests) >= 8)
    time.sleep(1)  # nothing more arrives: no event twice, none of B's
    got = [r for r in cluster.receiver.requests if r.json["event"] == "order.created"]
    assert sorted(r.json["data"]["order"]["reference"] for r in got) == sorted(
        f"HOOK-{n:02d}" for n in range(12) if n % 3)
    assert all(r.signature_valid(endpoint.secret) for r in got)
    assert max(Counter(r.headers["x-portal-delivery"] for r in got).values()) == 1


def test_a_server_killed_while_200_orders_are_made_loses_none_and_doubles_none(cluster, company_a, customer_a):
    """The client creates 200 orders with a file through the portal form, alternating servers;
    server 1 is killed (SIGKILL) on the way. A request that fails is sent again, with the same form
    token, to the other server. Every order exists once, every file has its row and every row its
    file (after `storage prune` of what the killed server left half-done)."""
    one, two = cluster.urls
    session, response = web_session(one, customer_a.email, PASSWORD)
    assert response.status_code == 302
    alive = {one: True, two: True}
    done = threading.Event()

    def kill_later():
        while len(references) < 60 and not done.is_set():
            time.sleep(0.01)
        cluster.kill_server(0)
        alive[one] = False

    references: list[str] = []
    killer = threading.Thread(target=kill_later)
    killer.start()
    retries = 0
    try:
        for n in range(200):
            reference = f"KILL-{n:03d}"
            targets = [one, two] if n % 2 == 0 else [two, one]
            form = None
            for url in targets:
                try:
                    form = session.get(url + "/cc/orders/new", timeout=10)
                    break
                except requests.RequestException:
                    continue
            tokens = {name: re.search(rf'name="{name}"[^>]*value="([^"]+)"', form.text).group(1)
                      for name in ("csrf_token", "form_token")}
            data = {"reference": reference, "items-0-description": "Messgerät", "items-0-quantity": "1",
                    "items-0-fault_description": "dunkel", **tokens}
            for attempt, url in enumerate(targets * 2):
                try:
                    answer = session.post(url + "/cc/orders/new", data=data, timeout=20, allow_redirects=False,
                                          files={"files": (f"{reference}.pdf", PDF + reference.encode(),
                                                           "application/pdf")})
                except requests.RequestException:
                    retries += 1
                    continue
                if answer.status_code >= 500:
                    retries += 1
                    continue
                assert answer.status_code == 302, (reference, answer.status_code, answer.text[:500])
                break
            else:
                pytest.fail(f"{reference} was never answered")
            references.append(reference)
    finally:
        done.set()
        killer.join()
    assert not alive[one]
    print(f"cluster: 200 orders, server 1 killed after {60} of them, {retries} requests sent again")
    db.session.expire_all()
    made = Counter(db.session.scalars(select(Order.reference).where(Order.company_id == company_a.id)))
    assert made == Counter({f"KILL-{n:03d}": 1 for n in range(200)}), (retries, made.most_common(3))
    # the files: every row has its object; objects without a row only from the killed server's
    # half-done requests, and `storage prune` removes them
    rows = set(db.session.scalars(select(Attachment.stored_name)))
    assert len(rows) == 200
    objects = set(cluster.s3.keys(cluster.prefix))
    assert rows <= objects
    assert len(objects - rows) <= 2
    pruned = subprocess.run([str(BIN / "flask"), "--app", "run", "portal", "storage", "prune", "--older-than", "0"],
                            cwd=ROOT, env=cluster.env_for("cron"), capture_output=True, text=True, timeout=60)
    assert pruned.returncode == 0, pruned.stderr
    assert set(cluster.s3.keys(cluster.prefix)) == rows
