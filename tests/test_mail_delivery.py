"""Every mail is sent exactly once, however many senders run at the same time.

Senders are web requests (several workers, several servers) and ``flask portal send-mail``
from cron; each takes a mail (a claim) before sending it. The mail server here is a local
SMTP sink that takes 0.1 s per mail, so senders really overlap.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import OutgoingMail, utcnow
from app.services.mail import deliver_pending
from tests.conftest import _app_config, login
from tests.factories import make_user
from tests.helpers import new_order_data
from tests.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent


def _queue_mails(n: int, prefix: str = "Mail") -> list[int]:
    rows = [OutgoingMail(recipient=f"r{i}@example.org", subject=f"{prefix} {i:03d}", body="Hello\n", kind="test",
                         language="en", next_attempt_at=utcnow()) for i in range(n)]
    db.session.add_all(rows)
    db.session.commit()
    return [r.id for r in rows]


def _all_mails():
    db.session.expire_all()
    return db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()


def _sender_app(tmp_path, database_url, name: str, port: int):
    config = _app_config(tmp_path / name, database_url)
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=10)
    return create_app(config)


def _run_threads(targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guard(target):
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_concurrent_senders_send_every_mail_exactly_once(app, tmp_path, database_url):
    """Four senders (each its own app and connection, as four workers) start at once on 40 mails."""
    _queue_mails(40)
    with SmtpSink(delay=0.1) as sink:
        apps = [_sender_app(tmp_path, database_url, f"worker{i}", sink.port) for i in range(4)]
        start = threading.Barrier(len(apps))
        results = []

        def sender(worker):
            def run():
                with worker.app_context():
                    start.wait()
                    while True:
                        sent, failed = deliver_pending(limit=50)
                        results.append((sent, failed))
                        if sent + failed == 0:
                            break
                    db.session.remove()
            return run

        assert _run_threads([sender(a) for a in apps]) == []
        subjects = Counter(sink.subjects())
    assert subjects == Counter({f"Mail {i:03d}": 1 for i in range(40)})
    assert sum(s for s, _ in results) == 40 and sum(f for _, f in results) == 0
    rows = _all_mails()
    assert all(r.sent_at is not None and r.attempts == 1 and r.last_error is None for r in rows)
    # the work was shared: more than one sender sent mail
    assert len({r.claimed_by for r in rows}) > 1


def test_send_mail_commands_run_at_the_same_time_send_each_mail_once(app, tmp_path, database_url):
    """Three `flask portal send-mail` processes (cron on several servers) on 60 mails."""
    _queue_mails(60)
    with SmtpSink(delay=0.1) as sink:
        env = dict(os.environ, FLASK_APP="run.py", PORTAL_ENV="development", DATABASE_URL=database_url,
                   PORTAL_INSTANCE_DIR=str(tmp_path / "cron"), SECRET_KEY="test-secret",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port), FAB_UPDATE_PERMS="false")
        flask = str(Path(sys.executable).parent / "flask")
        processes = [subprocess.Popen([flask, "portal", "send-mail"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outputs = [p.communicate(timeout=120) for p in processes]
        subjects = Counter(sink.subjects())
    assert all(p.returncode == 0 for p in processes), outputs
    assert subjects == Counter({f"Mail {i:03d}": 1 for i in range(60)})
    reported = sum(int(out.split("mail: ")[1].split(" sent")[0]) for out, _ in outputs)
    assert reported == 60
    assert all(r.sent_at is not None and r.attempts == 1 for r in _all_mails())


def test_concurrent_requests_on_two_servers_each_send_their_own_mail_once(app, tmp_path, database_url,
                                                                         company_a):
    """Two servers with two workers each; 12 portal orders at once; someone else's mail is left alone."""
    users = [make_user(company_a, email=f"buyer{i}@alpha.example") for i in range(4)]
    for user in users:  # staff hear of new orders; customers' status mails stay out of it
        user.notify_status = "none"
    db.session.commit()
    emails = [u.email for u in users]
    [other] = _queue_mails(1, prefix="Not mine")
    with SmtpSink(delay=0.1) as sink:
        servers = [_sender_app(tmp_path, database_url, f"server{i}", sink.port) for i in range(2)]
        start = threading.Barrier(4)

        def worker(server, email, n):
            def run():
                client = server.test_client()
                assert login(client, email).status_code == 302
                start.wait()
                for k in range(3):
                    response = client.post("/cc/orders/new", data=new_order_data(f"PO-{n}-{k}"))
                    # read to its end, as a browser does: the mail goes out after the response
                    body = response.get_data(as_text=True)
                    assert response.status_code == 302, body[:500]
            return run

        errors = _run_threads([worker(servers[i % 2], emails[i], i) for i in range(4)])
        assert errors == []
        subjects = Counter(sink.subjects())
    rows = [r for r in _all_mails() if r.kind == "order_created"]
    assert len(rows) == 12 and all(r.sent_at is not None and r.attempts == 1 for r in rows)
    assert sorted(subjects.elements()) == sorted(r.subject for r in rows)  # each once
    assert max(subjects.values()) == 1
    # a request sends what it queued, not mail that waits for the retry
    assert "Not mine 000" not in subjects
    assert db.session.get(OutgoingMail, other).sent_at is None


def test_the_user_has_the_whole_response_before_the_mail_goes_out(app, tmp_path, database_url, company_a):
    """``MAIL_DELIVERY=request``: the request's mail is sent once its response has been handed over,
    so a slow mail server never holds the user's page."""
    user = make_user(company_a, email="quick@alpha.example")
    user.notify_status = "none"
    db.session.commit()
    with SmtpSink(delay=0.5) as sink:
        server = _sender_app(tmp_path, database_url, "server", sink.port)

        def run():
            client = FlaskClient(server, use_cookies=True)  # unbuffered: the body is read when asked for
            assert login(client, user.email).status_code == 302
            started = time.monotonic()
            response = client.post("/cc/orders/new", data=new_order_data("PO-QUICK"))
            answered = time.monotonic() - started
            assert response.status_code == 302 and response.headers["Location"].startswith("/cc/orders/")
            waiting = [r for r in _all_mails() if r.kind == "order_created"]
            sent_before = list(sink.subjects())
            body = response.get_data()  # the client reads the last byte: now the mail goes out
            assert len(body) == int(response.headers["Content-Length"])
            return answered, waiting, sent_before

        answered, waiting, sent_before = contextvars.copy_context().run(run)
    assert answered < 0.5  # the mail server takes 0.5 s per mail
    assert sent_before == [] and [r.sent_at for r in waiting] == [None]
    [mail] = [r for r in _all_mails() if r.kind == "order_created"]
    assert mail.sent_at is not None and mail.attempts == 1
    assert sink.subjects() == [mail.subject]


def test_a_request_sends_only_the_mail_it_queued(app, customer_client, company_a):
    [waiting] = _queue_mails(1, prefix="Waiting")
    customer_client.post("/cc/orders/new", data=new_order_data("PO-OWN"))
    mails = {m.kind: m for m in _all_mails()}
    assert mails["order_created"].sent_at is not None
    assert db.session.get(OutgoingMail, waiting).sent_at is None  # left to `flask portal send-mail`
    result = app.test_cli_runner().invoke(args=["portal", "send-mail"])
    assert "1 sent" in result.output
    assert db.session.get(OutgoingMail, waiting).sent_at is not None


def test_a_claim_of_a_sender_that_died_is_taken_over_after_the_lease(app):
    lease = app.config["MAIL_CLAIM_LEASE"]
    fresh, stale = _queue_mails(2)
    now = utcnow()
    db.session.get(OutgoingMail, fresh).claimed_by = "other-sender"
    db.session.get(OutgoingMail, fresh).claimed_at = now - dt.timedelta(seconds=lease / 2)
    db.session.get(OutgoingMail, stale).claimed_by = "dead-sender"
    db.session.get(OutgoingMail, stale).claimed_at = now - dt.timedelta(seconds=lease + 1)
    db.session.commit()
    assert deliver_pending() == (1, 0)
    assert db.session.get(OutgoingMail, stale).sent_at is not None
    assert db.session.get(OutgoingMail, fresh).sent_at is None  # its sender may still be at it
    app.config["MAIL_CLAIM_LEASE"] = lease / 4
    assert deliver_pending() == (1, 0)
    assert db.session.get(OutgoingMail, fresh).sent_at is not None
