"""An S3-compatible server for the tests: moto's standalone server as its own process, over HTTP.

The app talks to it with boto3 exactly as to AWS or MinIO (no in-process mock): requests, multipart
uploads, errors and all go over the wire.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time

from tests.pgcluster import _free_port

BUCKET = "portal-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class S3Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()

    def start(self, timeout: float = 30) -> "S3Server":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS},
        )
        deadline = time.monotonic() + timeout
        while True:  # ready when it accepts connections (it needs a moment to import)
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"moto server stopped: {self.log.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server not listening on port {self.port} after {timeout} s")
                time.sleep(0.1)
        self.client().create_bucket(Bucket=BUCKET)
        return self

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def keys(self, prefix: str) -> list[str]:
        """Every object under ``prefix`` (names without it)."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"][len(prefix):] for page in pages for o in page.get("Contents", []))

    def unfinished_uploads(self) -> list:
        return self.client().list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
