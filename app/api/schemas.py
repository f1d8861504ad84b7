"""What the API accepts when an order is created (and documents in its OpenAPI description).

Only the fields below are taken; anything else — a company, a status, an id, a
source — is refused with a message naming the field, so nothing a caller sends
can place an order in another company or skip the workflow.
"""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from app.models import Order, OrderItem, storable_text

MAX_ARTICLES = 50  # as in the portal's new order form
MAX_QUANTITY = 100000
MAX_FAULT_DESCRIPTION = 5000
TIME_COLUMNS = ("created_at", "updated_at")


def utc(row: dict | None) -> dict | None:
    """Mark a row's times as UTC (``…Z``): they are stored in UTC without a zone."""
    for name in TIME_COLUMNS:
        value = (row or {}).get(name)
        if isinstance(value, str) and not value.endswith("Z") and "+" not in value[10:]:
            row[name] = value + "Z"
    return row


def _length(model, column: str) -> int:
    return model.__table__.c[column].type.length


def _text(model, column: str, required: bool = False, **kwargs):
    validators = [validate.Length(max=_length(model, column))]
    if required:
        validators.insert(0, validate.Length(min=1, error="Must not be empty."))
    return fields.String(required=required, allow_none=not required, validate=validators, **kwargs)


class StrippedSchema(Schema):
    """Trim text before it is validated: a reference of blanks counts as empty.

    The maximum length is checked on the text as sent, before trimming, as the
    OpenAPI description (``maxLength``) promises.
    """

    class Meta:
        unknown = RAISE

    def _too_long(self, data: dict) -> dict:
        errors = {}
        for name, field in self.fields.items():
            value = data.get(name)
            if not isinstance(value, str):
                continue
            for check in field.validators:
                if isinstance(check, validate.Length) and check.max is not None and len(value) > check.max:
                    errors[name] = [f"Longer than maximum length {check.max}."]
        return errors

    def _strip(self, data):
        if isinstance(data, dict):
            errors = self._too_long(data)
            if errors:
                raise ValidationError(errors)
            return {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
        return data

    def load(self, data, *args, **kwargs):
        return super().load(self._strip(data), *args, **kwargs)

    @validates_schema
    def _storable_text(self, data, **kwargs):
        """NUL characters and lone surrogates (``"\\ud800"`` in JSON) cannot be stored as text."""
        for name, value in data.items():
            if not isinstance(value, str):
                continue
            if "\x00" in value:
                raise ValidationError("Must not contain NUL characters.", name)
            if not storable_text(value):
                raise ValidationError("Must be Unicode text (it contains a lone surrogate).", name)


class ArticleSchema(StrippedSchema):
    article_number = _text(OrderItem, "article_number", metadata={"description": "Article number"})
    description = _text(OrderItem, "description", required=True, metadata={"description": "Description"})
    serial_number = _text(OrderItem, "serial_number", metadata={"description": "Serial number"})
    quantity = fields.Integer(
        load_default=1, strict=True,
        validate=validate.Range(min=1, max=MAX_QUANTITY, error="Must be between 1 and {max}."),
    )
    fault_description = fields.String(
        required=True,
        validate=[validate.Length(min=1, error="Must not be empty."), validate.Length(max=MAX_FAULT_DESCRIPTION)],
        metadata={"description": "Fault description"},
    )


class OrderCreateSchema(StrippedSchema):
    reference = _text(Order, "reference", required=True,
                      metadata={"description": "Your reference number (e.g. your ERP's return number)"})
    items = fields.List(
        fields.Nested(ArticleSchema), required=True,
        validate=validate.Length(min=1, max=MAX_ARTICLES, error="Between {min} and {max} articles."),
        metadata={"description": "The articles to repair"},
    )

    def load(self, data, *args, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Send a JSON object.", "_schema")
        return super().load(data, *args, **kwargs)

