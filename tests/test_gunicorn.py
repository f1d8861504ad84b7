"""The production server as documented: gunicorn with gunicorn.conf.py serves the app, logs each
request with its id, and a SIGTERM lets the requests in flight finish."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, database_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
           "UPLOAD_FOLDER": str(tmp_path / "uploads"), "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
           "SECRET_KEY": "gunicorn-test-secret", "PORTAL_ENV": "development", "PORT": str(port),
           "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "2", "GUNICORN_GRACEFUL_TIMEOUT": "20"}
    env.pop("FLASK_APP", None)
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "run:app"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(f"gunicorn did not start:\n{(tmp_path / 'gunicorn.log').read_text()[-3000:]}")
            time.sleep(0.2)
    yield process, base, port, tmp_path / "gunicorn.log"
    if process.poll() is None:
        process.kill()
        process.wait()
    log.close()


def test_gunicorn_serves_the_app_and_logs_each_request_with_its_id(server):
    process, base, _port, log = server
    request = urllib.request.Request(f"{base}/readyz", headers={"X-Request-ID": "deploy-check-42"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and response.headers["X-Request-ID"] == "deploy-check-42"
    with urllib.request.urlopen(f"{base}/login/", timeout=10) as response:
        assert response.status == 200 and len(response.headers["X-Request-ID"]) == 32
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    lines = log.read_text()
    assert '"GET /readyz HTTP/1.1" 200' in lines and "rid=deploy-check-42" in lines


def test_sigterm_lets_the_request_in_flight_finish(server):
    process, _base, port, _log = server
    body = b"username=nobody%40example.com&password=wrong-password-123"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10])
        time.sleep(1)  # the worker has the request and waits for the rest of its body
        process.send_signal(signal.SIGTERM)
        time.sleep(1)  # the server is stopping; the request is still in flight
        assert process.poll() is None
        conn.sendall(body[10:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 ") and int(status_line.split()[1]) < 500, answer[:300]
    assert process.wait(timeout=30) == 0
