"""``/api/v1/orders/<id>/quote``: the current quote of an order, and the customer's decision on it.

Scoped and authorised as in the portal: the order is looked up through the caller's scope
(another company's order is a 404), an API key acts with its creating user's rights
(:func:`app.services.quotes.may_decide`), staff read every quote but never decide.
"""
from __future__ import annotations

from typing import Optional

from flask import request
from flask_appbuilder.api import BaseApi, expose
from marshmallow import ValidationError, fields, validate
from sqlalchemy import select

from app.api.orders import endpoint, scoped_order
from app.api.schemas import StrippedSchema
from app.extensions import db
from app.models import QUOTE_DRAFT, REJECT_ACTIONS, Order, Quote
from app.security.scoping import api_user
from app.services import quotes

MAX_VERSION = 2**31 - 1  # an INTEGER column: a larger number is no version


class QuoteAcceptSchema(StrippedSchema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_VERSION),
                             metadata={"description": "The version you accept (the one GET returned)"})
    po_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=50),
                              metadata={"description": "Your purchase order number"})


class QuoteRejectSchema(StrippedSchema):
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_VERSION),
                             metadata={"description": "The version you reject (the one GET returned)"})
    action = fields.String(required=True, validate=validate.OneOf(REJECT_ACTIONS),
                           metadata={"description": "return: send the devices back unrepaired; dispose"})


def _money(value) -> Optional[str]:
    return None if value is None else f"{value:.2f}"


def _time(value) -> Optional[str]:
    return None if value is None else value.isoformat() + "Z"


def quote_json(quote: Quote) -> dict:
    """The quote as the API answers it: amounts as strings of decimals, times in UTC."""
    return {
        "version": quote.version,
        "state": quote.state,
        "expired": quote.expired(),
        "decidable": quotes.decidable(quote),
        "currency": quote.currency,
        "vat_rate": _money(quote.vat_rate),
        "net": _money(quote.net),
        "vat": _money(quote.vat),
        "gross": _money(quote.gross),
        "valid_until": quote.valid_until.isoformat(),
        "note": quote.note,
        "sent_at": _time(quote.sent_at),
        "decided_at": _time(quote.decided_at),
        "decided_by": quote.decided_by.full_name if quote.decided_by else None,
        "po_number": quote.po_number,
        "reject_action": quote.reject_action,
        "auto_approved_limit": _money(quote.auto_approved_limit),
        "lines": [
            {"position": line.position, "text": line.text, "quantity": _money(line.quantity),
             "unit_price": _money(line.unit_price), "amount": _money(line.amount), "item_id": line.item_id}
            for line in quote.lines
        ],
    }


class QuoteApi(BaseApi):
    """The quote endpoints of the orders resource (same permissions view as :class:`OrderApi`)."""

    resource_name = "orders"
    class_permission_name = "OrdersApi"
    method_permission_name = {"get_quote": "get", "accept": "decide", "reject": "decide"}
    allow_browser_login = False
    openapi_spec_tag = "Orders"

    def _answer(self, order: Order, quote: Quote):
        return self.response(200, id=order.id, rma_number=order.rma_number, result=quote_json(quote))

    @expose("/<int:pk>/quote", methods=["GET"])
    @endpoint("get")
    @scoped_order
    def get_quote(self, order: Order):
        """The order's current quote (the newest one sent; drafts are never shown)
        ---
        get:
          parameters:
          - pk
          responses:
            200:
              description: The quote with its lines and totals
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/QuoteAnswer'
        """
        quote = quotes.current_quote(order.id, order.company_id, with_lines=True)
        if quote is None:
            return self.response_404()
        return self._answer(order, quote)

    @expose("/<int:pk>/quote/accept", methods=["POST"])
    @endpoint("decide")
    @scoped_order
    def accept(self, order: Order):
        """Accept the current quote
        ---
        post:
          description: >-
            Accepts the given version of the order's quote for the caller's company; only company
            admins and the employees their admin allows to decide (otherwise 403). A version that has
            been replaced, decided or has expired is a 409. Where the company requires a purchase
            order number, a missing one is a 400.
          parameters:
          - pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/QuoteAccept'
          responses:
            200:
              description: The quote as accepted
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/QuoteAnswer'
            409:
              $ref: '#/components/responses/409'
        """
        return self._decide(order, accept=True)

    @expose("/<int:pk>/quote/reject", methods=["POST"])
    @endpoint("decide")
    @scoped_order
    def reject(self, order: Order):
        """Reject the current quote
        ---
        post:
          description: >-
            Rejects the given version of the order's quote and says what should happen to the devices
            (`return` unrepaired or `dispose`). Who may, and the 409 and 400 answers, as for accepting.
          parameters:
          - pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/QuoteReject'
          responses:
            200:
              description: The quote as rejected
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/QuoteAnswer'
            409:
              $ref: '#/components/responses/409'
        """
        return self._decide(order, accept=False)

    def _decide(self, order: Order, accept: bool):
        user = api_user()
        if not quotes.may_decide(user) or user.company_id != order.company_id:
            return self.response(403, message="Only company admins and the employees they allow decide quotes.")
        if quotes.current_quote(order.id, order.company_id) is None:
            return self.response_404()
        if not request.is_json:
            return self.response_400(message="Send the decision as JSON (Content-Type: application/json).")
        schema = QuoteAcceptSchema() if accept else QuoteRejectSchema()
        try:
            data = schema.load(request.get_json(silent=True))
        except ValidationError as err:
            return self.response_400(message=err.messages)
        quote = db.session.scalars(
            select(Quote).where(Quote.order_id == order.id, Quote.company_id == order.company_id,
                                   Quote.version == data["version"], Quote.state != QUOTE_DRAFT)
        ).first()
        if quote is None:
            return self.response(409, message="This version of the quote cannot be decided.")
        try:
            quotes.decide(quote, user, accept=accept, po_number=data.get("po_number"),
                          reject_action=data.get("action"))
            db.session.commit()
        except quotes.QuoteInvalid as invalid:
            db.session.rollback()
            field = {"reject_action": "action"}.get(invalid.field, invalid.field)
            return self.response_400(message={field: [invalid.message]})
        except quotes.QuoteConflict as conflict:
            db.session.rollback()
            return self.response(409, message=conflict.message)
        except BaseException:
            db.session.rollback()
            raise
        return self._answer(order, quote)
