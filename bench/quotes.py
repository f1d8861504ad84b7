"""Quote scenarios of `make bench`: the order page with a 30-line quote, accepting a quote, the
quote's PDF. The orders and quotes are made through the app's services on company 1 (new rows
above the build's maxima, so the run's reset removes them again)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from bench.build_db import log

QUOTE_LINES = 30


def _make_quoted_orders(bench, count: int, lines: int) -> list[int]:
    """``count`` new orders of company 1, each with a sent quote of ``lines`` lines (not within an
    approval limit, so each waits for a decision). Returns the order ids."""
    from sqlalchemy import update

    from app.extensions import db
    from app.models import Company, PortalUser, utcnow
    from app.services import quotes
    from app.services.orders import create_portal_order

    meta = bench.meta
    with bench.app.test_request_context("/"):
        staff = db.session.get(PortalUser, meta["accounts"]["staff"]["id"])
        admin = db.session.get(PortalUser, bench.company_admin_id)
        company = db.session.get(Company, meta["big_company_id"])
        db.session.execute(update(Company).where(Company.id == company.id)
                           .values(approval_limit=0, po_number_required=False))
        ids = []
        for n in range(count):
            order = create_portal_order(company, admin, reference=f"BENCH-QUOTE-{n}", items=[
                dict(article_number=f"A-{4711 + i}", description=f"Messgerät MX-{200 + i}",
                     serial_number=f"SN-Q-{n}-{i}", quantity=1, fault_description="Display dunkel")
                for i in range(3)])
            rows = [dict(text=f"Ersatzteil {i + 1}: Baugruppe {1000 + i}", quantity=str(1 + i % 4),
                         unit_price=f"{12.5 + i * 3.75:.2f}", item_id=order.items[i % 3].id if i % 2 else None)
                    for i in range(lines)]
            quote = quotes.save_draft(order, staff, lines=rows, vat_rate=Decimal("19"),
                                      valid_until=utcnow().date() + dt.timedelta(days=14), note="Bench")
            quotes.send(quote, staff)
            ids.append(order.id)
        db.session.commit()
        db.session.remove()
    return ids


def measure_quotes(bench, n: int, warmup: int) -> dict:
    """The order page with a 30-line quote, accepting (a new quote each time), the quote PDF."""
    res = {}
    page_order = _make_quoted_orders(bench, 1, QUOTE_LINES)[0]
    for name, url in (("quote_order_page", f"/cc/orders/{page_order}"),
                      ("quote_pdf", f"/cc/orders/{page_order}/quote/pdf")):
        stats = bench.measure(name, "company_admin", url, n, warmup)
        res[name] = stats.as_dict()
        log(f"  {name}: p50 {stats.p50:.1f} ms, {max(stats.sql)} SQL ({len(stats.times_ms)} requests)")

    pending = iter(_make_quoted_orders(bench, n + warmup, QUOTE_LINES))
    current = {}

    def accept_body() -> dict:
        current["order"] = next(pending)
        return {"data": {"version": "1", "po_number": "PO-BENCH-1"}}

    # each request accepts the quote of the next order: the URL changes per request
    stats = _measure_changing(bench, "quote_accept", n, warmup, accept_body, current)
    res["quote_accept"] = stats.as_dict()
    log(f"  quote_accept: p50 {stats.p50:.1f} ms, {max(stats.sql)} SQL ({len(stats.times_ms)} requests)")
    return res


def _measure_changing(bench, name: str, n: int, warmup: int, body, current):
    """Like Bench.measure for a POST whose URL names a different order each time."""
    from bench.run import Stats, turn

    stats = Stats(name)
    for i in range(n + warmup):
        kwargs = body()
        url = f"/cc/orders/{current['order']}/quote/accept"
        response, elapsed, sql = bench.request("company_admin", "POST", url, **kwargs)
        if response.status_code != 302:
            raise RuntimeError(f"{name}: POST {url} answered {response.status_code}, expected 302")
        if i >= warmup:
            stats.times_ms.append(elapsed * 1000)
            stats.cpu_ms.append(bench.last_cpu * 1000)
            stats.sql.append(sql)
            stats.statuses.add(response.status_code)
            stats.size = len(response.data)
        response.close()
    turn()
    return stats
