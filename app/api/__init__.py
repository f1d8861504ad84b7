"""The REST API under /api/v1/ (FAB ``ModelRestApi``; OpenAPI at /api/v1/_openapi, Swagger UI at /swagger/v1)."""
from __future__ import annotations


import jsonschema

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

    from app.api.orders import OrderApi

    fab_api.jsonschema = _CheckedOnceJsonSchema()
    appbuilder.add_api(OrderApi)
