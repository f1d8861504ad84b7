"""MAIL_DELIVERY=worker: requests only queue mail, `flask portal worker` processes deliver it —
each mail once however many workers run, a refused mail server means a retry later, never a lost
or doubled mail, and SIGTERM stops a worker cleanly."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from app import create_app
from app.extensions import db
from app.models import OutgoingMail, utcnow
from app.services.worker import run_worker
from tests.conftest import _app_config, login
from tests.helpers import new_order_data
from tests.smtp_sink import SmtpSink
from tests.test_mail_delivery import _all_mails, _queue_mails

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens here once the socket is closed


def _worker_app(tmp_path, database_url, port: int, name: str = "worker"):
    config = _app_config(tmp_path / name, database_url)
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SUPPRESS_SEND=False, MAIL_TIMEOUT=5,
                  MAIL_DELIVERY="worker")
    return create_app(config)


def test_with_a_worker_the_request_only_queues_and_the_worker_sends(app, tmp_path, database_url, customer_a):
    with SmtpSink(delay=0) as sink:
        server = _worker_app(tmp_path, database_url, sink.port, "web")
        client = server.test_client()
        assert login(client, customer_a.email).status_code == 302
        assert client.post("/cc/orders/new", data=new_order_data("PO-W-1")).status_code == 302
        assert sink.subjects() == []  # the request did not wait for the mail server
        queued = [m for m in _all_mails() if m.kind == "order_created"]
        assert len(queued) == 1 and queued[0].sent_at is None
        with server.app_context():
            assert run_worker(0.1, lambda: False, once=True) == (1, 0)
        assert sink.subjects() == [queued[0].subject]
    assert _all_mails()[0].sent_at is not None


def test_a_refused_mail_server_means_a_retry_later_never_a_lost_or_doubled_mail(app, tmp_path, database_url):
    ids = _queue_mails(3)
    worker = _worker_app(tmp_path, database_url, _closed_port())
    with worker.app_context():
        assert run_worker(0.1, lambda: False, once=True) == (0, 3)
    rows = _all_mails()
    assert all(r.sent_at is None and r.attempts == 1 and "Connection" in (r.last_error or "") for r in rows)
    assert all(r.next_attempt_at > utcnow() for r in rows)  # backoff: not tried again at once
    with worker.app_context():
        assert run_worker(0.1, lambda: False, once=True) == (0, 0)
    with SmtpSink(delay=0) as sink:
        for row in rows:  # the backoff has passed
            row.next_attempt_at = utcnow()
        db.session.commit()
        worker.config["MAIL_PORT"] = sink.port
        with worker.app_context():
            assert run_worker(0.1, lambda: False, once=True) == (3, 0)
            assert run_worker(0.1, lambda: False, once=True) == (0, 0)
        assert Counter(sink.subjects()) == Counter({f"Mail {i:03d}": 1 for i in range(3)})
    assert [(r.id, r.attempts, r.last_error) for r in _all_mails()] == [(i, 2, None) for i in ids]


def test_two_worker_processes_send_each_mail_once_and_stop_on_sigterm(app, tmp_path, database_url):
    _queue_mails(40)
    with SmtpSink(delay=0.05) as sink:
        env = dict(os.environ, FLASK_APP="run.py", PORTAL_ENV="development", DATABASE_URL=database_url,
                   PORTAL_INSTANCE_DIR=str(tmp_path / "workers"), SECRET_KEY="test-secret",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=str(sink.port), FAB_UPDATE_PERMS="false",
                   MAIL_DELIVERY="worker", WORKER_POLL_SECONDS="0.2")
        flask = str(Path(sys.executable).parent / "flask")
        workers = [subprocess.Popen([flask, "portal", "worker"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        try:
            deadline = time.monotonic() + 90
            while any(r.sent_at is None for r in _all_mails()) and time.monotonic() < deadline:
                time.sleep(0.2)
            # new mail while they run is picked up too
            _queue_mails(2, prefix="Later")
            while any(r.sent_at is None for r in _all_mails()) and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            outputs = [w.communicate(timeout=60) for w in workers]
        subjects = Counter(sink.subjects())
    assert all(w.returncode == 0 for w in workers), outputs
    assert all("worker: stopped" in out for out, _err in outputs), outputs
    expected = {f"Mail {i:03d}": 1 for i in range(40)} | {f"Later {i:03d}": 1 for i in range(2)}
    assert subjects == Counter(expected)
    assert all(r.sent_at is not None and r.attempts == 1 for r in _all_mails())
    sent_by = [int(out.split("stopped; ")[1].split(" sent")[0]) for out, _ in outputs]
    assert sum(sent_by) == 42
