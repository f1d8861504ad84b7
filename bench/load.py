"""`make bench-load`: the portal list under gunicorn (2 workers x 4 threads) for 20 s.

A closed-loop load generator in this process (Python threads, one keep-alive ``http.client``
connection each, loopback only) requests ``/cc/orders/`` as the company admin of the
10,000-order company on the 1,000,000-order database and reports requests/s, latency
percentiles and errors (anything but a 200 with the order table, or a connection error).
With ``--instances N`` (default: 2 on PostgreSQL, 1 on SQLite) N gunicorn instances serve the
same database, as N app servers behind a load balancer: the clients take turns over them, the
session cookie of one login is good on all, and the figures are given per instance too.
The figures are merged into bench/results.json (``load_*``).
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import build_db  # noqa: E402
from bench.build_db import PASSWORD, log  # noqa: E402
from bench.run import RESULTS, calibrate, reset_database  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer in time")


def login(port: int, email: str) -> str:
    """The session cookie of a real login over HTTP."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = urllib.parse.urlencode({"username": email, "password": PASSWORD})
    conn.request("POST", "/login/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    location = response.getheader("Location") or ""
    cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    if response.status != 302 or "/login" in location or not cookies:
        raise RuntimeError(f"login failed: {response.status} {location}")
    return "; ".join(c.split(";", 1)[0] for c in cookies)


def load(ports: list[int], path: str, cookie: str, clients: int, seconds: float, marker: bytes) -> dict:
    """``clients`` threads request ``path`` back to back for ``seconds``; client i talks to
    ``ports[i % len(ports)]``."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    times: list[float] = []
    errors: dict[str, int] = {}
    per_port: dict[int, int] = {p: 0 for p in ports}

    def worker(port: int):
        conn = None
        local_times, local_errors = [], {}
        while time.perf_counter() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - t
                if response.status != 200 or marker not in data:
                    key = f"HTTP {response.status}"
                    local_errors[key] = local_errors.get(key, 0) + 1
                else:
                    local_times.append(elapsed)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
                local_errors[key] = local_errors.get(key, 0) + 1
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()
        with lock:
            per_port[port] += len(local_times)
            times.extend(local_times)
            for k, v in local_errors.items():
                errors[k] = errors.get(k, 0) + v

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(ports[i % len(ports)],)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - start
    ordered = sorted(times)

    def pct(p):
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1) if ordered else None

    return {"requests": len(times), "errors": sum(errors.values()), "error_kinds": errors,
            "seconds": round(wall, 1), "rps": round(len(times) / wall, 1),
            "p50_ms": round(statistics.median(times) * 1000, 1) if times else None,
            "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": round(ordered[-1] * 1000, 1) if ordered else None,
            "requests_per_instance": list(per_port.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before the measured run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--clients", type=int, default=0, help="concurrent connections (default workers x threads)")
    parser.add_argument("--instances", type=int, default=0,
                        help="gunicorn instances on one database (default: 2 on PostgreSQL, 1 on SQLite)")
    parser.add_argument("--db", default="1m", choices=list(build_db.SHAPES))
    parser.add_argument("--results", default=str(RESULTS))
    args = parser.parse_args(argv)
    clients = args.clients or args.workers * args.threads

    meta = build_db.ensure(args.db)
    reset_database(meta)
    meta_file = build_db.DATA_DIR / "load-meta.json"
    meta_file.write_text(json.dumps(meta))
    instances = args.instances or (1 if build_db.is_sqlite(meta["url"]) else 2)
    ports: list[int] = []
    while len(ports) < instances:
        port = free_port()
        if port not in ports:
            ports.append(port)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = dict(os.environ, BENCH_META=str(meta_file))
    procs = []
    try:
        for port in ports:
            cmd = [str(gunicorn), "-w", str(args.workers), "-k", "gthread", "--threads", str(args.threads),
                   "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "120", "bench.wsgi:app"]
            log(f"gunicorn {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}")
            procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env))
        for port, proc in zip(ports, procs):
            wait_ready(port, proc)
        email = meta["accounts"]["companies"][str(meta["big_company_id"])]["admin"]["email"]
        cookie = login(ports[0], email)  # one login: the cookie is good on every instance
        path, marker = "/cc/orders/", b'class="order-row"'
        if args.warmup:
            load(ports, path, cookie, clients, args.warmup, marker)
        log(f"{clients} clients over {instances} instance(s), {args.seconds:.0f} s against {path}")
        res = load(ports, path, cookie, clients, args.seconds, marker)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)  # the gunicorn masters we started; they stop their workers
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        reset_database(meta)
    res |= {"instances": instances, "workers": args.workers, "threads": args.threads, "clients": clients,
            "path": path, "orders": meta["counts"]["orders"], "gunicorn": "gthread",
            "backend": "sqlite" if build_db.is_sqlite(meta["url"]) else "postgresql", "calibration_ms": calibrate()}
    ok = res["errors"] == 0 and res["p95_ms"] is not None and res["p95_ms"] <= 100
    print()
    print(f"make bench-load: portal list, {res['backend']}, {meta['counts']['orders']:,} orders, {instances} x gunicorn "
          f"{args.workers} workers x {args.threads} threads, {clients} keep-alive clients, {res['seconds']:.0f} s; "
          f"machine calibration {res['calibration_ms']} ms")
    print(f"  requests/s {res['rps']:.1f}   requests {res['requests']} (per instance: "
          f"{', '.join(map(str, res['requests_per_instance']))})   errors {res['errors']} {res['error_kinds'] or ''}")
    print(f"  latency p50 {res['p50_ms']} ms   p95 {res['p95_ms']} ms   p99 {res['p99_ms']} ms   max {res['max_ms']} ms")
    print(f"  target: no errors, p95 <= 100 ms: {'PASS' if ok else 'FAIL'}")
    path_json = Path(args.results)
    data = {}
    if path_json.exists():
        with contextlib.suppress(Exception):
            data = json.loads(path_json.read_text())
    data |= {"load_rps": res["rps"], "load_p50_ms": res["p50_ms"], "load_p95_ms": res["p95_ms"],
             "load_errors": res["errors"], "load": res}
    path_json.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
