"""Work left for after the response (app/after_response.py) runs once, also when the client resets.

werkzeug's server (``flask run``, the browser tests) skipped the response's ``close()`` when the
client reset the connection right after reading the response's head, as Chromium does when it follows
a redirect: an export asked for then stayed "Being prepared" for ever. These tests drive the same
server over a raw socket.
"""
from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import pytest
from flask import Flask, Response, redirect, stream_with_context
from werkzeug.serving import make_server

from app.after_response import after_response, install_after_response
from app.extensions import db


RELEASED = threading.Event()


def _app(ran: list) -> Flask:
    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://")
    db.init_app(app)
    install_after_response(app)

    @app.post("/ask")
    def ask():
        after_response(lambda: ran.append("built"))
        return redirect("/list")

    @app.post("/fails")
    def fails():
        after_response(lambda: 1 / 0)
        after_response(lambda: ran.append("second"))
        return redirect("/list")

    @app.get("/stream")
    def stream():
        after_response(lambda: ran.append("ran after the client had the body" if RELEASED.wait(5)
                                          else "the client waited for the work"))

        def chunks():
            yield b"one,"
            yield b"two"
        return Response(stream_with_context(chunks()), mimetype="text/plain")

    return app


@pytest.fixture
def server():
    ran: list = []
    RELEASED.clear()
    httpd = make_server("127.0.0.1", 0, _app(ran), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_port, ran
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _ask(port: int, path: str, reset: bool) -> bytes:
    """POST ``path``; with ``reset`` read only the status line and close with a reset (RST)."""
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(f"POST {path} HTTP/1.1\r\nHost: portal\r\nContent-Length: 0\r\n\r\n".encode())
        if reset:
            head = conn.recv(12)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return head
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


def _wait_for(ran: list, count: int) -> list:
    deadline = time.monotonic() + 5
    while len(ran) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # and nothing more comes
    return ran


def test_the_work_runs_once_when_the_client_reads_the_whole_response(server):
    port, ran = server
    assert _ask(port, "/ask", reset=False).startswith(b"HTTP/1.1 302")
    assert _wait_for(ran, 1) == ["built"]


def test_the_work_runs_when_the_client_resets_right_after_the_head(server):
    port, ran = server
    for _ in range(10):  # the reset must meet the server's drain; one of ten always did without the fix
        assert _ask(port, "/ask", reset=True) == b"HTTP/1.1 302"
    assert _wait_for(ran, 10) == ["built"] * 10


def test_failing_work_is_logged_and_the_next_one_still_runs(server, caplog):
    port, ran = server
    with caplog.at_level(logging.ERROR, logger="app.after_response"):
        assert _ask(port, "/fails", reset=False).startswith(b"HTTP/1.1 302")
        assert _wait_for(ran, 1) == ["second"]
    assert "ZeroDivisionError" in caplog.text


def test_a_streamed_body_runs_the_work_after_the_client_has_all_of_it(server):
    """No Content-Length: the work waits for ``close()``, after the server wrote the last chunk; the
    client never waits for the work."""
    port, ran = server
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.settimeout(10)
        conn.sendall(b"GET /stream HTTP/1.1\r\nHost: portal\r\n\r\n")
        answer = b""
        while not answer.endswith(b"0\r\n\r\n") and (chunk := conn.recv(65536)):
            answer += chunk
        RELEASED.set()  # the client has the whole body; only now may the work end
    assert b"one," in answer and b"two" in answer
    assert _wait_for(ran, 1) == ["ran after the client had the body"]
