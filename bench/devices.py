"""Device scenarios of `make bench` (issue #15): the service history of one serial number, and the
serial-number search as the user types, both for the 10,000-order company (10,000 devices, the
serials of its orders) among 1,000,000 devices of 100,000 companies.

The search is measured through its endpoint ``GET /cc/devices/search?q=`` where the app has it;
without it, the service function :func:`app.services.devices.search` is timed alone (in a request
context, the company admin's company) and the figure says so (``via``)."""
from __future__ import annotations

import time

from bench.build_db import log

SEARCH_URL = "/cc/devices/search"
# what a user types, one more character each time: the scenario cycles through these prefixes
TYPED = ("SN0", "SN00", "SN000", "SN0001", "SN00012", "0012", "123")


def _search_prefixes(meta: dict) -> list[str]:
    serial = meta["device_serial"]  # SN<order id, 7 digits>0 of company 1
    return [serial[:k] for k in range(3, len(serial) + 1)] + list(TYPED)


def measure_devices(bench, n: int, warmup: int) -> dict:
    meta = bench.meta
    res = {}
    url = f"/cc/devices/history?serial={meta['device_serial']}"
    stats = bench.measure("device_history", "company_admin", url, n, warmup)
    res["device_history"] = stats.as_dict()
    log(f"  device_history: p50 {stats.p50:.1f} ms, {max(stats.sql)} SQL ({len(stats.times_ms)} requests)")

    prefixes = _search_prefixes(meta)
    rules = {rule.rule for rule in bench.app.url_map.iter_rules()}
    if SEARCH_URL in rules:
        turn = iter(range(10 ** 9))
        stats = bench.measure("device_search", "company_admin", SEARCH_URL, n, warmup,
                              body=lambda: {"query_string": {"q": prefixes[next(turn) % len(prefixes)]}})
        res["device_search"] = stats.as_dict() | {"via": "endpoint"}
    else:
        stats = _measure_search_service(bench, prefixes, n, warmup)
        res["device_search"] = stats.as_dict() | {"via": "service function (no search endpoint in this app)"}
    log(f"  device_search ({res['device_search']['via']}): p50 {stats.p50:.1f} ms ({len(stats.times_ms)} requests)")
    return res


def _measure_search_service(bench, prefixes: list[str], n: int, warmup: int):
    from bench.run import Stats, turn
    from app.extensions import db
    from app.services import devices

    stats = Stats("device_search")
    company_id = bench.meta["big_company_id"]
    with bench.app.test_request_context("/"):
        for i in range(n + warmup):
            text = prefixes[i % len(prefixes)]
            bench.counter.count = 0
            c = time.process_time()
            t = time.perf_counter()
            found = devices.search(company_id, text)
            elapsed = time.perf_counter() - t
            if i >= warmup:
                stats.times_ms.append(elapsed * 1000)
                stats.cpu_ms.append((time.process_time() - c) * 1000)
                stats.sql.append(bench.counter.count)
                stats.statuses.add(200)
                stats.size = len(found)
        db.session.remove()
    turn()
    return stats
