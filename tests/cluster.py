"""Several app servers and workers as a multi-server installation runs them, for the cluster tests:
gunicorn instances (gunicorn.conf.py) and `flask portal worker` processes, each a real process with
its own instance folder (its own disk), all on one database, one Redis and one mail server."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, root: Path, env: dict, servers: int = 2, workers: int = 2):
        self.root = root
        self.env = {**os.environ, "PORTAL_ENV": "development", "FAB_UPDATE_PERMS": "false",
                    "SECRET_KEY": "cluster-shared-secret-" + "x" * 32, "MAIL_DELIVERY": "worker",
                    "WORKER_POLL_SECONDS": "0.2", "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "4",
                    "GUNICORN_GRACEFUL_TIMEOUT": "10", **env}
        self.env.pop("FLASK_APP", None)
        self.servers: list[dict] = []
        self.workers: list[subprocess.Popen] = []
        self.n_servers, self.n_workers = servers, workers

    def env_for(self, name: str, **extra) -> dict:
        own = self.root / name
        return {**self.env, "PORTAL_INSTANCE_DIR": str(own / "instance"), "UPLOAD_FOLDER": str(own / "uploads"),
                "MAIL_OUTBOX_DIR": str(own / "outbox"), **extra}

    def spawn_server(self, index: int) -> dict:
        port = free_port()
        env = self.env_for(f"server{index}", PORT=str(port))
        log = open(self.root / f"server{index}.log", "ab")
        process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "run:app"], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return {"process": process, "url": f"http://127.0.0.1:{port}", "log": log, "index": index}

    def wait_ready(self, server: dict) -> dict:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(server["url"] + "/readyz", timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
            if server["process"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {server['index']} did not start: {self.log_of(server['index'])[-3000:]}")
            time.sleep(0.1)

    def log_of(self, index: int) -> str:
        return (self.root / f"server{index}.log").read_text(errors="replace")

    def start(self) -> "Cluster":
        self.root.mkdir(parents=True, exist_ok=True)
        self.servers = [self.spawn_server(i) for i in range(self.n_servers)]  # all boot at once
        for i in range(self.n_workers):
            log = open(self.root / f"worker{i}.log", "ab")
            self.workers.append(subprocess.Popen(
                [str(BIN / "flask"), "--app", "run", "portal", "worker"], cwd=ROOT,
                env=self.env_for(f"worker{i}"), stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        for i, worker in enumerate(self.workers):  # running: its first line is written
            while "worker: delivering" not in (self.root / f"worker{i}.log").read_text(errors="replace"):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {i} did not start: "
                                       f"{(self.root / f'worker{i}.log').read_text(errors='replace')[-3000:]}")
                time.sleep(0.1)
        for server in self.servers:
            self.wait_ready(server)
        return self

    @property
    def urls(self) -> list[str]:
        return [s["url"] for s in self.servers]

    def kill_server(self, index: int) -> None:
        """SIGKILL: the server dies at once, whatever it was doing (its gunicorn workers with it)."""
        process = self.servers[index]["process"]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        self.servers[index]["killed"] = True

    def stop(self) -> list[int]:
        """SIGTERM to every part not killed on purpose; their exit codes."""
        codes = []
        running = self.workers + [s["process"] for s in self.servers if not s.get("killed")]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(process.wait())
        for s in self.servers:
            s["log"].close()
        return codes


def web_session(base_url: str, email: str, password: str, session: requests.Session | None = None):
    """Log in through the login form (with its CSRF token); the session and the final response."""
    session = session or requests.Session()
    page = session.get(base_url + "/login/", timeout=10)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = session.post(base_url + "/login/", data={"username": email, "password": password,
                                                         "csrf_token": token}, timeout=10, allow_redirects=False)
    return session, response
