"""The REST API under /api/v1/ (FAB ``ModelRestApi``; OpenAPI at /api/v1/_openapi, Swagger UI at /swagger/v1)."""
from __future__ import annotations


import jsonschema
from flask import current_app, jsonify, request

from app.models import storable_text

_validators: dict[int, tuple[dict, object]] = {}


class _CheckedOnceJsonSchema:
    """``jsonschema`` as FAB's ``@rison`` decorator uses it, without checking FAB's own schema anew
    on every request (``jsonschema.validate`` does: about 10 ms of each API list request).
    Arguments are validated exactly as before; a bad one is still a 400."""

    ValidationError = jsonschema.ValidationError

    @staticmethod
    def validate(instance, schema):
        entry = _validators.get(id(schema))
        if entry is None or entry[0] is not schema:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            entry = _validators[id(schema)] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name):
        return getattr(jsonschema, name)


def register_apis(appbuilder) -> None:
    import flask_appbuilder.api as fab_api
    from flask_appbuilder.api.manager import SwaggerView

    from app.api.openapi import PortalOpenApi
    from app.api.devices import DeviceApi
    from app.api.orders import OrderApi
    from app.api.quotes import QuoteApi

    fab_api.jsonschema = _CheckedOnceJsonSchema()
    appbuilder.add_api(OrderApi)
    appbuilder.add_api(QuoteApi)
    appbuilder.add_api(DeviceApi)
    # FAB's own OpenAPI views are off (FAB_ADD_OPENAPI_VIEWS): the same routes, corrected description
    appbuilder.add_view_no_menu(PortalOpenApi, endpoint="OpenApi")
    if current_app.config.get("FAB_API_SWAGGER_UI"):
        appbuilder.add_view_no_menu(SwaggerView)
    refuse_bad_tokens_with_401(appbuilder.sm.jwt_manager)
    current_app.before_request(refuse_unstorable_login_text)


def refuse_unstorable_login_text():
    """400 for a login whose fields hold a NUL or a lone surrogate (``"\\ud800"``), or without its
    ``provider``.

    FAB's login schema checks the password by encoding it, which fails on a lone
    surrogate: the answer was a 500.
    """
    if request.endpoint != "SecurityApi.login":
        return None
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        return None
    refused = {name: ["Must be Unicode text without NUL characters."]
               for name, value in body.items() if isinstance(value, str) and not storable_text(value)}
    if "provider" not in body:  # FAB's schema lets it pass and then reads it: a KeyError, a 500
        refused["provider"] = ["Missing data for required field."]
    return (jsonify(message=refused), 400) if refused else None


def refuse_bad_tokens_with_401(jwt_manager) -> None:
    """Every bad credential is a 401 with the API's one error shape ``{"message": …}``.

    flask-jwt-extended answers a malformed token with 422 ``{"msg": "Not enough segments"}``.
    """

    def refuse(message):
        return jsonify(message=message), 401

    jwt_manager.invalid_token_loader(lambda reason: refuse(f"Invalid token: {reason}"))
    jwt_manager.unauthorized_loader(lambda reason: refuse(reason))
    jwt_manager.expired_token_loader(lambda _header, _payload: refuse("Token has expired"))
    jwt_manager.revoked_token_loader(lambda _header, _payload: refuse("Token has been revoked"))
    jwt_manager.needs_fresh_token_loader(lambda _header, _payload: refuse("Fresh token required"))
    jwt_manager.token_verification_failed_loader(lambda _header, _payload: refuse("Token refused"))
    jwt_manager.user_lookup_error_loader(lambda _header, _payload: refuse("Unknown user"))
