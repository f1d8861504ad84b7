"""``/api/v1/devices``: the company's device register for its ERP; every company's for staff (read-only).

Every endpoint looks devices up through the caller's scope (:func:`app.security.scoping.api_scope`):
another company's device is a 404, as one that does not exist. Company admins (and the API keys they
made) add and change devices; employees and staff read. The rules are :mod:`app.services.devices`.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import request
from flask_appbuilder.api import BaseApi, expose
from marshmallow import ValidationError, fields, validate
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.api.orders import _status, endpoint
from app.api.query import MAX_PAGE
from app.api.schemas import StrippedSchema, _text
from app.extensions import db
from app.models import Device, utcnow
from app.security.scoping import ALL_COMPANIES, NO_COMPANY, api_scope, api_user
from app.services import devices

MAX_NOTE = 2000
MAX_PAGE_SIZE = 100
PAGE_SIZE = 25
WARRANTY_STATES = ("in", "expired", "unknown")
EDITABLE = ("serial_number", "article_number", "description", "delivered_on", "warranty_until", "location",
            "note", "active")


class DeviceSchema(StrippedSchema):
    """What POST and PUT take (PATCH: the same fields, each one optional)."""

    serial_number = _text(Device, "serial_number", required=True, metadata={"description": "Serial number"})
    article_number = _text(Device, "article_number", metadata={"description": "Article number"})
    description = _text(Device, "description", required=True, metadata={"description": "Description"})
    delivered_on = fields.Date(allow_none=True, metadata={"description": "Delivery date (ISO 8601)"})
    warranty_until = fields.Date(allow_none=True, metadata={"description": "Warranty end (ISO 8601)"})
    location = _text(Device, "location", metadata={"description": "Location or cost centre"})
    note = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTE))
    active = fields.Boolean(truthy={True}, falsy={False}, metadata={"description": "false: retired"})

    def load(self, data, *args, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Send a JSON object.", "_schema")
        return super().load(data, *args, **kwargs)


def _warranty(device: Device) -> str:
    state = device.warranty_state()
    return "unknown" if state is None else ("in" if state else "expired")


def _day(value: Optional[dt.date]) -> Optional[str]:
    return None if value is None else value.isoformat()


def device_json(device: Device) -> dict:
    return {
        "id": device.id, "company_id": device.company_id, "serial_number": device.serial_number,
        "article_number": device.article_number, "description": device.description,
        "delivered_on": _day(device.delivered_on), "warranty_until": _day(device.warranty_until),
        "warranty": _warranty(device), "location": device.location, "note": device.note,
        "active": device.active, "created_at": device.created_at.isoformat() + "Z",
        "updated_at": device.updated_at.isoformat() + "Z",
    }


def _scoped(stmt):
    scope = api_scope()
    return stmt if scope == ALL_COMPANIES else stmt.where(Device.company_id == scope)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _BadArgument(Exception):
    pass


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 10 or not low <= int(raw) <= high:
        raise _BadArgument(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _list_filters(stmt):
    """The list's filters from the query string; :raises _BadArgument: for a value it cannot read."""
    text = (request.args.get("q") or "").strip()
    if len(text) > 100 or "\x00" in text:
        raise _BadArgument("q is a text of at most 100 characters")
    if text:
        like = f"%{_like_escape(text)}%"
        stmt = stmt.where(or_(Device.serial_number.ilike(like, escape="\\"),
                              Device.article_number.ilike(like, escape="\\"),
                              Device.description.ilike(like, escape="\\")))
    active = request.args.get("active")
    if active not in (None, ""):
        if active not in ("true", "false"):
            raise _BadArgument("active is true or false")
        stmt = stmt.where(Device.active.is_(active == "true"))
    warranty = request.args.get("warranty")
    if warranty not in (None, ""):
        if warranty not in WARRANTY_STATES:
            raise _BadArgument("warranty is one of: " + ", ".join(WARRANTY_STATES))
        today = utcnow().date()
        stmt = stmt.where({"in": Device.warranty_until >= today, "expired": Device.warranty_until < today,
                           "unknown": Device.warranty_until.is_(None)}[warranty])
    return stmt


class DeviceApi(BaseApi):
    resource_name = "devices"
    class_permission_name = "DevicesApi"
    method_permission_name = {"get_list": "get", "get": "get", "history": "get", "post": "post", "put": "put"}
    allow_browser_login = False  # a session cookie never authenticates the API (CSRF)
    openapi_spec_tag = "Devices"

    def _device_or_none(self, pk: int) -> Optional[Device]:
        return db.session.scalars(_scoped(select(Device).where(Device.id == pk))).first()

    @expose("/", methods=["GET"])
    @endpoint("get")
    def get_list(self):
        """The register's devices, by serial number
        ---
        get:
          description: >-
            The devices of the caller's company (staff: of every company), ordered by serial number.
          parameters:
          - in: query
            name: q
            schema: {type: string, maxLength: 100}
            description: Part of the serial number, article number or description
          - in: query
            name: active
            schema: {type: string, enum: ["true", "false"]}
            description: "`false`: retired devices only"
          - in: query
            name: warranty
            schema: {type: string, enum: [in, expired, unknown]}
            description: The warranty state today
          - in: query
            name: page
            schema: {type: integer, minimum: 0, maximum: 1000000}
          - in: query
            name: page_size
            schema: {type: integer, minimum: 1, maximum: 100}
          responses:
            200:
              description: One page of devices and how many match
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceList'
        """
        try:
            page = _int_arg("page", 0, 0, MAX_PAGE)
            page_size = _int_arg("page_size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
            stmt = _scoped(_list_filters(select(Device)))
        except _BadArgument as bad:
            return self.response_400(message=str(bad))
        count = db.session.scalar(stmt.with_only_columns(func.count(Device.id)).order_by(None))
        rows = db.session.scalars(
            stmt.order_by(Device.serial_number, Device.id).offset(page * page_size).limit(page_size)
        ).all()
        return self.response(200, count=count, ids=[d.id for d in rows], result=[device_json(d) for d in rows])

    @expose("/<int:pk>", methods=["GET"])
    @endpoint("get")
    def get(self, pk: int):
        """One device of the register
        ---
        get:
          parameters:
          - device_pk
          responses:
            200:
              description: The device
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceAnswer'
        """
        device = self._device_or_none(pk)
        if device is None:
            return self.response_404()
        return self.response(200, id=device.id, result=device_json(device))

    @expose("/history", methods=["GET"])
    @endpoint("get")
    def history(self):
        """The service history of a serial number: every order that contained it, newest first
        ---
        get:
          description: >-
            The caller's company's orders (staff: every order) with an article of this serial number,
            and the register's device(s) with it.
          parameters:
          - in: query
            name: serial
            required: true
            schema: {type: string, minLength: 1, maxLength: 100}
          responses:
            200:
              description: The register's devices with this serial number and the orders
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceHistory'
        """
        serial = (request.args.get("serial") or "").strip()
        if not serial or len(serial) > 100 or "\x00" in serial:
            return self.response_400(message={"serial": ["A serial number of 1 to 100 characters."]})
        scope = api_scope()
        company_id = None if scope == ALL_COMPANIES else scope
        rows = devices.history(serial, company_id)
        registered = devices.register_entries(serial, company_id)
        result = [
            {"order_id": order.id, "rma_number": order.rma_number, "created_at": order.created_at.isoformat() + "Z",
             "status": _status(order.status), "item_id": item.id, "article_number": item.article_number,
             "description": item.description, "quantity": item.quantity,
             "fault_description": item.fault_description, "in_warranty": item.in_warranty,
             "repeat_of_order_id": item.repeat_of_order_id}
            for item, order in rows
        ]
        return self.response(200, serial_number=serial, devices=[device_json(d) for d in registered],
                             result=result)

    # -- create and change: company admins -----------------------------------------
    def _body(self, partial: bool):
        """The request's device fields, or an answer refusing them."""
        if not request.is_json:
            return None, self.response_400(message="Send the device as JSON (Content-Type: application/json).")
        try:
            return DeviceSchema().load(request.get_json(silent=True), partial=partial), None
        except ValidationError as err:
            return None, self.response_400(message=err.messages)

    def _company_id(self) -> Optional[int]:
        user = api_user()
        company_id = getattr(user, "company_id", None)
        return company_id if company_id and company_id != NO_COMPANY else None

    def _save(self, company_id: int, values: dict, device: Optional[Device] = None):
        """Add or change the device through the register's rules (the same checks and audit as the
        portal's pages): 201 or 200 with the device, 400 naming the fields, 409 for a serial number
        already in the register."""
        actor = api_user()
        serial = values.get("serial_number")
        if serial and (device is None or serial.strip() != device.serial_number) \
                and devices.device_or_none(company_id, serial) is not None:
            return self._duplicate()
        active = values.pop("active", None)
        try:
            if device is None:
                device = devices.create(company_id, values, actor)
            else:
                devices.update(device, values, actor)
            if active is not None:
                devices.set_active(device, active, actor)
            db.session.flush()
        except devices.DeviceInvalid as invalid:
            db.session.rollback()
            return self.response_400(message={name: [text] for name, text in invalid.errors.items()})
        except IntegrityError:  # the same serial number added at the same moment
            db.session.rollback()
            return self._duplicate()
        db.session.commit()
        return self.response(201 if request.method == "POST" else 200, id=device.id, result=device_json(device))

    def _duplicate(self):
        return self.response(409, message={"serial_number": ["This serial number is already in the register."]})

    @expose("/", methods=["POST"])
    @endpoint("post")
    def post(self):
        """Add a device to the caller's company's register
        ---
        post:
          description: >-
            Company admins (and their API keys) only. A serial number already in the company's register
            is a 409; bad fields are a 400 naming them.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DeviceCreate'
          responses:
            201:
              description: The new device
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceAnswer'
            409:
              $ref: '#/components/responses/409'
        """
        company_id = self._company_id()
        if company_id is None:
            return self.response(403, message="Devices are added by the admins of a company.")
        data, refused = self._body(partial=False)
        if refused is not None:
            return refused
        return self._save(company_id, {k: v for k, v in data.items() if k in EDITABLE})

    @expose("/<int:pk>", methods=["PUT", "PATCH"])
    @endpoint("put")
    def put(self, pk: int):
        """Change a device of the caller's company's register
        ---
        put:
          description: >-
            Replaces the device's fields (`serial_number` and `description` required; fields left out
            are emptied). Company admins only; another company's device is a 404; a serial number
            already in the register a 409.
          parameters:
          - device_pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DeviceCreate'
          responses:
            200:
              description: The device as changed
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceAnswer'
            409:
              $ref: '#/components/responses/409'
        patch:
          description: Changes only the fields sent; otherwise as PUT.
          parameters:
          - device_pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/DeviceUpdate'
          responses:
            200:
              description: The device as changed
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/DeviceAnswer'
            409:
              $ref: '#/components/responses/409'
        """
        company_id = self._company_id()
        if company_id is None:
            return self.response(403, message="Devices are changed by the admins of their company.")
        device = self._device_or_none(pk)
        if device is None or device.company_id != company_id:
            return self.response_404()
        partial = request.method == "PATCH"
        data, refused = self._body(partial=partial)
        if refused is not None:
            return refused
        if partial:  # PATCH: the fields sent, the others as they are
            data = {**{name: getattr(device, name) for name in devices.FIELDS}, **data}
        else:  # PUT replaces: what is left out is emptied
            data = {"article_number": None, "delivered_on": None, "warranty_until": None, "location": None,
                    "note": None, "active": True, **data}
        return self._save(company_id, {k: v for k, v in data.items() if k in EDITABLE}, device)
