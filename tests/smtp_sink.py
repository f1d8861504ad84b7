"""A small SMTP server on 127.0.0.1 that keeps what it receives and is slow to accept each mail.

Enough of SMTP for smtplib (HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); every accepted
mail waits ``delay`` seconds before its "250", as a busy mail server does.
"""
from __future__ import annotations

import socketserver
import threading
import time
from email import message_from_bytes


class _Handler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink: SmtpSink = self.server.sink
        self._reply("220 sink ESMTP")
        recipients: list[str] = []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in ("HELO", "EHLO"):
                self._reply("250 sink")
            elif verb == "MAIL":
                recipients = []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                time.sleep(sink.delay)
                sink.received(recipients, bytes(data))
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 Bye")
                return
            else:  # RSET, NOOP and anything else
                self._reply("250 OK")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    """``with SmtpSink(delay=0.1) as sink:`` … ``sink.port``, ``sink.messages``."""

    def __init__(self, delay: float = 0.1):
        self.delay = delay
        self.messages: list = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.sink = self
        self.port = self._server.server_address[1]

    def received(self, recipients: list[str], data: bytes) -> None:
        with self._lock:
            self.messages.append((recipients, message_from_bytes(data)))

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(message["Subject"]) for _, message in self.messages]

    def __enter__(self) -> "SmtpSink":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
