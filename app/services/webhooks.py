"""Webhooks: a company's own systems (ERP) hear of its orders' events, signed, retried for a day.

An event is queued as one :class:`WebhookDelivery` per active endpoint of *that* company subscribed to
it, in the transaction of the change (an order without a company — the public form — emits nothing).
Deliveries leave like mail (:mod:`app.services.mail`): claimed by one atomic conditional UPDATE with a
lease, so that any number of workers deliver each event once; sent after the request that queued them
(``MAIL_DELIVERY=request``) or by ``flask portal worker``; retried with growing pauses until 24 hours
after the event, then given up. An endpoint failing for a day is paused and its company's admins are
mailed.

Addresses are checked twice against requests into the server's own networks (SSRF): when the admin
saves one, and at delivery, where the connection goes to the very address that was checked (no second
name lookup) while TLS still checks the certificate against the host name.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Optional
from urllib.parse import urlsplit

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.orm import Session

from app.after_response import after_response
from app.extensions import db
from app.models import WEBHOOK_EVENTS, WEBHOOK_PAUSED_FAILING, WEBHOOK_PAUSED_MANUALLY, WEBHOOK_PING, \
    Company, Order, OrderMessage, OrderStatus, PortalUser, Quote, StatusChange, WebhookDelivery, WebhookEndpoint, utcnow
from app.security import roles
from app.services import audit
from app.services import mail
from app.services import claims
from app.services.mail import queue

log = logging.getLogger(__name__)

RETRY_WINDOW = dt.timedelta(hours=24)  # retried until a day after the event; failing a day pauses
MAX_BACKOFF = dt.timedelta(hours=1)
LOG_SIZE = 50
MAX_URL = 500
USER_AGENT = "KeyAccountPortal-Webhooks/1"

EVENT_LABELS = {
    "order.created": _l("Order created"),
    "order.status_changed": _l("Status changed"),
    "order.message": _l("Message from our service team"),
    "quote.sent": _l("Quote sent"),
    "quote.decided": _l("Quote accepted or rejected"),
    WEBHOOK_PING: _l("Test event"),
}
# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class WebhookInvalid(ValueError):
    """An address that is refused; ``message`` is for the user, at the field."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- addresses ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA), lower case, without brackets
    port: int
    path: str  # path and query, as sent
    allow_listed: bool

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def _allow_list() -> list[tuple[str, Optional[int]]]:
    """``WEBHOOK_ALLOW_HOSTS``: comma-separated ``host`` or ``host:port`` (``[::1]:8080`` for IPv6)."""
    entries = []
    for entry in (current_app.config.get("WEBHOOK_ALLOW_HOSTS") or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        parts = urlsplit("//" + entry)
        try:
            entries.append((parts.hostname or entry, parts.port))
        except ValueError:
            log.warning("WEBHOOK_ALLOW_HOSTS: %r is no host[:port]", entry)
    return entries


def _allow_listed(host: str, port: int) -> bool:
    return any(host == h and (p is None or p == port) for h, p in _allow_list())


def is_public(address: str) -> bool:
    """Whether an IP address is one on the internet: never loopback, private, link-local, multicast,
    reserved, unspecified or shared, also when an IPv6 address carries such an IPv4 address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6:
        # Python 3.11 judges ::ffff:127.0.0.1 as an IPv6 address; it connects to 127.0.0.1
        embedded = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if embedded is not None:
            return is_public(str(embedded))
        if ip.teredo or ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified)


def check_url(url: str) -> Target:
    """The parts of an endpoint address, or why it is refused (no name lookup here).

    :raises WebhookInvalid: not https (http only for allow-listed hosts), no host, a user name or
        password in it, a bad port, too long.
    """
    url = (url or "").strip()
    if not url:
        raise WebhookInvalid(str(_l("Please fill in this field.")))
    if len(url) > MAX_URL:
        raise WebhookInvalid(str(_l("At most %(count)s characters.", count=MAX_URL)))
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise WebhookInvalid(str(_l("Please enter a complete address starting with https://, "
                                    "e.g. https://erp.example.com/portal-events.")))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
        host = parts.hostname or ""
    except ValueError:
        raise WebhookInvalid(str(_l("This address has an invalid port."))) from None
    if scheme not in ("https", "http") or not host:
        raise WebhookInvalid(str(_l("Please enter a complete address starting with https://, "
                                    "e.g. https://erp.example.com/portal-events.")))
    if parts.username is not None or parts.password is not None:
        raise WebhookInvalid(str(_l("The address must not contain a user name or password: the signature "
                                    "of each delivery shows that it comes from us.")))
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        raise WebhookInvalid(str(_l("This host name is not valid."))) from None
    port = port or (443 if scheme == "https" else 80)
    allow_listed = _allow_listed(host, port)
    if scheme != "https" and not allow_listed:
        raise WebhookInvalid(str(_l("The address must start with https://: deliveries are sent encrypted only.")))
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port, path, allow_listed)


def resolve(target: Target) -> list[str]:
    """Every address the host name has; all of them must be public unless the host is allow-listed.

    :raises WebhookInvalid: the name is unknown, or one of its addresses is not on the internet.
    """
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise WebhookInvalid(str(_l("The host name %(host)s could not be found.", host=target.host))) from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not target.allow_listed:
        for address in addresses:
            if not is_public(address):
                raise WebhookInvalid(str(_l(
                    "%(host)s leads to %(address)s, an address in a private or local network: only addresses "
                    "on the internet are allowed.", host=target.host, address=address)))
    if not addresses:
        raise WebhookInvalid(str(_l("The host name %(host)s could not be found.", host=target.host)))
    return addresses


def validate_url(url: str) -> str:
    """The address as it is stored, checked as a delivery would check it (name looked up).

    :raises WebhookInvalid: see :func:`check_url` and :func:`resolve`.
    """
    resolve(check_url(url))
    return url.strip()


# -- sending -------------------------------------------------------------------------

def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with the endpoint's secret over ``<timestamp>.<body>``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                                hashlib.sha256).hexdigest()


def _connect(target: Target, addresses: list[str], timeout: float) -> socket.socket:
    """A connection to one of the addresses that were checked (never a second name lookup)."""
    error: Optional[OSError] = None
    for address in addresses:
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((address, target.port))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        if target.scheme == "https":
            try:
                # SNI and the certificate check use the host name, as a browser would
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=target.host)
            except Exception:
                sock.close()
                raise
        return sock
    raise error or OSError("no address to connect to")


def post(target: Target, addresses: list[str], body: bytes, headers: dict[str, str],
         timeout: float) -> tuple[int, str]:
    """POST ``body``; (status code, the start of the answer). Redirects are not followed.

    :raises OSError: (and ``ssl.SSLError``, ``http.client.HTTPException``) when no answer came.
    """
    sock = _connect(target, addresses, timeout)
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connection.sock = sock  # http.client connects only when it has no socket
    try:
        connection.request("POST", target.path, body=body,
                           headers={"Host": target.host_header, **headers})
        response = connection.getresponse()
        answer = response.read(1024)
        return response.status, answer.decode("utf-8", "replace")
    finally:
        connection.close()


def _deliver(uid: str, event_name: str, payload: str, url: str, secret: str) -> tuple[Optional[int], Optional[str]]:
    """Send one delivery; (status code or None, error or None)."""
    body = payload.encode("utf-8")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Portal-Event": event_name,
        "X-Portal-Delivery": uid,
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Signature": sign(secret, timestamp, body),
    }
    try:
        target = check_url(url)
        addresses = resolve(target)
        status, answer = post(target, addresses, body, headers, float(current_app.config.get("WEBHOOK_TIMEOUT", 5)))
    except WebhookInvalid as invalid:
        return None, invalid.message
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return status, None
    return status, f"HTTP {status}: {answer.strip()[:300]}" if answer.strip() else f"HTTP {status}"


# -- queueing ------------------------------------------------------------------------

def _iso(value: Optional[dt.datetime | dt.date]) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


def _queue(endpoint: WebhookEndpoint, event: str, data: dict[str, Any]) -> WebhookDelivery:
    uid = str(uuid.uuid4())
    now = utcnow()
    payload = json.dumps({"id": uid, "event": event, "created_at": _iso(now), "data": data},
                         ensure_ascii=False, separators=(",", ":"), default=str)
    row = WebhookDelivery(uid=uid, endpoint_id=endpoint.id, company_id=endpoint.company_id, event=event,
                          payload=payload, attempts=0, next_attempt_at=now, created_at=now)
    db.session.add(row)
    return row


def emit(company_id: Optional[int], event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint of this company that subscribed to it, in the current
    transaction (committed with the change, or not at all). No company: nothing."""
    if company_id is None:
        return []
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id, WebhookEndpoint.active.is_(True))
        .order_by(WebhookEndpoint.id)
    ).all()
    return [_queue(e, event, data) for e in endpoints if event in e.event_list]


def _order(order: Order) -> dict[str, Any]:
    return {
        "id": order.id, "rma_number": order.rma_number, "reference": order.reference, "source": order.source,
        "status": order.status.code if order.status else None, "created_at": _iso(order.created_at),
        "updated_at": _iso(order.updated_at),
    }


def _quote(quote: Quote) -> dict[str, Any]:
    return {
        "id": quote.id, "version": quote.version, "state": quote.state, "currency": quote.currency,
        "net": str(quote.net), "vat_rate": str(quote.vat_rate), "vat": str(quote.vat), "gross": str(quote.gross),
        "valid_until": _iso(quote.valid_until), "sent_at": _iso(quote.sent_at), "decided_at": _iso(quote.decided_at),
        "auto_approved": quote.auto_approved_limit is not None, "po_number": quote.po_number,
        "reject_action": quote.reject_action,
    }


def order_created(order: Order) -> list[WebhookDelivery]:
    data = _order(order)
    data["items"] = [{"id": i.id, "article_number": i.article_number, "description": i.description,
                      "serial_number": i.serial_number, "quantity": i.quantity} for i in order.items]
    return emit(order.company_id, "order.created", {"order": data})


def status_changed(order: Order, change: StatusChange) -> list[WebhookDelivery]:
    # the change may not be flushed yet: its from_status relationship is then unloaded
    before = db.session.get(OrderStatus, change.from_status_id) if change.from_status_id else None
    from_status = before.code if before is not None else None
    return emit(order.company_id, "order.status_changed", {
        "order": _order(order), "from_status": from_status, "to_status": change.to_status.code,
        "note": change.note, "changed_at": _iso(change.changed_at)})


def message_posted(message: OrderMessage) -> list[WebhookDelivery]:
    """Only staff's messages to the customer: never an internal note, never the customer's own."""
    if not message.from_staff or message.internal:
        return []
    return emit(message.order.company_id, "order.message", {
        "order": _order(message.order),
        "message": {"id": message.id, "body": message.body, "created_at": _iso(message.created_at)}})


def quote_sent(quote: Quote) -> list[WebhookDelivery]:
    return emit(quote.order.company_id, "quote.sent", {"order": _order(quote.order), "quote": _quote(quote)})


def quote_decided(quote: Quote) -> list[WebhookDelivery]:
    return emit(quote.order.company_id, "quote.decided", {"order": _order(quote.order), "quote": _quote(quote)})


# -- delivering ------------------------------------------------------------------------

def _lease_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(seconds=current_app.config.get("WEBHOOK_CLAIM_LEASE", 300))


def _due(now: dt.datetime):
    return (WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.claimed_at.is_(None), WebhookDelivery.claimed_at < _lease_start(now)))


def _claim(delivery_id: int, sender: str) -> bool:
    """Take one delivery for this sender (app/services/claims.py)."""
    now = utcnow()
    return claims.claim(WebhookDelivery, delivery_id, sender, now, *_due(now))


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd … failed attempt, at most an hour."""
    return min(dt.timedelta(minutes=2 ** min(attempts - 1, 10)), MAX_BACKOFF)


def _company_admins(company_id: int) -> list[tuple]:
    users = db.session.scalars(
        select(PortalUser).join(Company, PortalUser.company_id == Company.id)
        .where(PortalUser.company_id == company_id, PortalUser.active.is_(True), Company.active.is_(True))
    ).all()
    return [(u.email, u.language, u.full_name) for u in users if u.has_role(roles.COMPANY_ADMIN)]


def _pause_failing(endpoint: WebhookEndpoint, now: dt.datetime, error: Optional[str]) -> list[int]:
    """Pause an endpoint that failed for a day and mail its company's admins — once, however many
    senders find it failing at the same moment (the conditional UPDATE decides). Returns mail ids."""
    paused = db.session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id, WebhookEndpoint.active.is_(True))
        .values(active=False, paused_reason=WEBHOOK_PAUSED_FAILING, paused_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if paused != 1:
        return []
    db.session.refresh(endpoint)
    audit.record(audit.WEBHOOK_PAUSED, endpoint, actor=None, company_id=endpoint.company_id,
                 new={"url": endpoint.url, "reason": WEBHOOK_PAUSED_FAILING})
    mails = queue("webhook_paused", _company_admins(endpoint.company_id), endpoint=endpoint,
                  failing_since=endpoint.failing_since, last_error=error, link="/cc/my-data/webhooks/")
    db.session.flush()
    return [m.id for m in mails]


def _finish(delivery_id: int, sender: str, status: Optional[int], error: Optional[str]) -> list[int]:
    """Record one attempt: delivered, or the next attempt (backoff), or given up after a day; an endpoint
    failing for a day is paused. Returns the ids of mails queued (the admins told of a pause)."""
    row = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if row is None:  # the admin deleted the endpoint (and its log) while it was being sent
        db.session.rollback()
        return []
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id, populate_existing=True)
    now = utcnow()
    row.attempts += 1
    row.last_status_code = status
    mails: list[int] = []
    if row.claimed_by != sender:  # the lease ran out while we were sending; the outcome still counts
        log.warning("webhook delivery %s: claim of %s was taken over by %s", row.id, sender, row.claimed_by)
    if error is None:
        row.delivered_at = now
        row.next_attempt_at = None
        row.last_error = None
        if row.event != WEBHOOK_PING:
            endpoint.failing_since = None
    else:
        row.last_error = error[:2000]
        deadline = row.created_at + RETRY_WINDOW
        if row.event == WEBHOOK_PING or now >= deadline:  # a test event is tried once
            row.given_up_at = now
            row.next_attempt_at = None
        else:
            row.next_attempt_at = min(now + backoff(row.attempts), deadline)
        if row.claimed_by == sender:
            row.claimed_by = row.claimed_at = None
        if row.event != WEBHOOK_PING:
            if endpoint.failing_since is None:
                endpoint.failing_since = now
            if row.given_up_at is not None or now - endpoint.failing_since >= RETRY_WINDOW:
                db.session.flush()
                mails = _pause_failing(endpoint, now, row.last_error)
        log.warning("webhook delivery %s (%s) to endpoint %s failed (attempt %s): %s",
                    row.id, row.event, endpoint.id, row.attempts, error)
    db.session.commit()
    return mails


def deliver_pending(limit: int = 50, ids: Optional[Iterable[int]] = None,
                    queued_mail: Optional[list[int]] = None) -> tuple[int, int]:
    """Send what is due to active endpoints, each delivery claimed first so that it is sent once
    however many senders run. ``ids`` limits the run to these deliveries (a request sends what it
    queued); ids of mails queued on the way (pauses) are appended to ``queued_mail``.
    Returns (delivered, failed). Never raises."""
    delivered = failed = 0
    sender = claims.claimer_id()
    try:
        now = utcnow()
        stmt = (select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookEndpoint.active.is_(True), *_due(now)).order_by(WebhookDelivery.id))
        if ids is not None:
            ids = list(ids)
            if not ids:
                return 0, 0
            stmt = stmt.where(WebhookDelivery.id.in_(ids))
            limit = max(limit, len(ids))
        candidates = db.session.scalars(stmt.limit(limit)).all()
        db.session.commit()  # end the reading transaction: each claim is its own
        for delivery_id in candidates:
            if not _claim(delivery_id, sender):
                continue  # another sender has it
            row = db.session.get(WebhookDelivery, delivery_id)
            endpoint = db.session.get(WebhookEndpoint, row.endpoint_id)
            if not endpoint.active:  # paused since the look for due work: leave it for the resume
                row.claimed_by = row.claimed_at = None
                db.session.commit()
                continue
            sending = (row.uid, row.event, row.payload, endpoint.url, endpoint.secret)
            db.session.commit()  # no transaction stays open while the endpoint is waited for
            status, error = _deliver(*sending)
            mails = _finish(delivery_id, sender, status, error)
            if queued_mail is not None:
                queued_mail.extend(mails)
            if error is None:
                delivered += 1
            else:
                failed += 1
    except Exception:  # noqa: BLE001 - delivering must never break the action that caused it
        log.exception("webhook delivery failed")
        db.session.rollback()
    return delivered, failed


# -- the company admin's endpoints --------------------------------------------------------

def company_endpoints(company_id: int) -> list[WebhookEndpoint]:
    return db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.company_id == company_id).order_by(WebhookEndpoint.id)
    ).all()


def endpoint_of(company_id: Optional[int], endpoint_id: int) -> Optional[WebhookEndpoint]:
    """The company's endpoint, or None (another company's endpoint is 'not found')."""
    if company_id is None:
        return None
    return db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.company_id == company_id)
    ).first()


def create_endpoint(company_id: int, url: str, events: Iterable[str], user: PortalUser) -> WebhookEndpoint:
    """A new endpoint with a new secret (not committed).

    :raises WebhookInvalid: for a refused address or no known event.
    """
    url = validate_url(url)
    events = [e for e in WEBHOOK_EVENTS if e in set(events)]
    if not events:
        raise WebhookInvalid(str(_l("Please choose at least one event.")))
    endpoint = WebhookEndpoint(company_id=company_id, url=url, events=",".join(events),
                               secret="whsec_" + secrets.token_urlsafe(32), active=True,
                               created_by_id=user.id, created_at=utcnow())
    db.session.add(endpoint)
    db.session.flush()
    audit.record(audit.WEBHOOK_CREATED, endpoint, actor=user, company_id=company_id,
                 new={"url": url, "events": ", ".join(events)})
    return endpoint


def pause(endpoint: WebhookEndpoint, user: PortalUser) -> None:
    if not endpoint.active:
        return
    endpoint.active = False
    endpoint.paused_reason = WEBHOOK_PAUSED_MANUALLY
    endpoint.paused_at = utcnow()
    audit.record(audit.WEBHOOK_PAUSED, endpoint, actor=user, company_id=endpoint.company_id,
                 new={"url": endpoint.url, "reason": WEBHOOK_PAUSED_MANUALLY})


def resume(endpoint: WebhookEndpoint, user: PortalUser) -> None:
    """Deliver again: what is still within its day is retried now, older events are given up."""
    if endpoint.active:
        return
    now = utcnow()
    endpoint.active = True
    endpoint.paused_reason = endpoint.paused_at = endpoint.failing_since = None
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.next_attempt_at.is_not(None),
               WebhookDelivery.created_at < now - RETRY_WINDOW)
        .values(given_up_at=now, next_attempt_at=None).execution_options(synchronize_session=False)
    )
    audit.record(audit.WEBHOOK_RESUMED, endpoint, actor=user, company_id=endpoint.company_id,
                 new={"url": endpoint.url})


def delete_endpoint(endpoint: WebhookEndpoint, user: PortalUser) -> None:
    """The endpoint and its delivery log (not committed)."""
    audit.record(audit.WEBHOOK_DELETED, endpoint, actor=user, company_id=endpoint.company_id,
                 old={"url": endpoint.url, "events": ", ".join(endpoint.event_list)})
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                       .execution_options(synchronize_session=False))
    db.session.delete(endpoint)


def ping(endpoint: WebhookEndpoint, user: PortalUser) -> WebhookDelivery:
    """A test event for this endpoint alone (tried once; it never pauses the endpoint)."""
    return _queue(endpoint, WEBHOOK_PING, {"endpoint_id": endpoint.id, "sent_by": user.email,
                                           "message": "Test event from the key account portal"})


def delivery_log(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The last deliveries of an endpoint, newest first."""
    return db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc()).limit(LOG_SIZE)
    ).all()


def delivery_state(row: WebhookDelivery) -> str:
    if row.delivered_at is not None:
        return "delivered"
    if row.given_up_at is not None:
        return "given_up"
    return "pending" if row.attempts == 0 else "retrying"


def init_webhook_delivery(app) -> None:
    """``MAIL_DELIVERY=request``: the events a request committed are delivered once its response has
    gone out (app/after_response.py), so nobody waits for a customer's ERP; what fails is retried by
    ``flask portal worker`` (``--once`` from cron). ``worker``: requests only queue.

    The ids are collected at flush and handed over on commit; a rollback forgets them.
    """

    _listen_for_queued_deliveries()

    @app.after_request
    def _deliver_after_response(response):
        queued = g.pop("webhooks_queued", None)
        if not queued or current_app.config.get("MAIL_DELIVERY", "request") == "worker":
            return response

        def deliver():
            queued_mail: list[int] = []
            deliver_pending(ids=queued, queued_mail=queued_mail)
            if queued_mail:
                mail.deliver_pending(ids=queued_mail)

        after_response(deliver)
        return response


def _collect(session, _context):
    new = [obj for obj in session.new if isinstance(obj, WebhookDelivery)]
    if new and has_request_context():
        session.info.setdefault("webhooks_flushed", []).extend(obj.id for obj in new)


def _committed(session):
    flushed = session.info.pop("webhooks_flushed", None)
    if flushed and has_request_context():
        g.setdefault("webhooks_queued", []).extend(flushed)


def _rolled_back(session):
    session.info.pop("webhooks_flushed", None)


def _listen_for_queued_deliveries() -> None:
    """Session events are global: listen once however many apps are built (the tests build many)."""
    for name, listener in (("after_flush", _collect), ("after_commit", _committed),
                           ("after_rollback", _rolled_back)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
