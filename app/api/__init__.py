"""The REST API under /api/v1/ (FAB ``ModelRestApi``; OpenAPI at /api/v1/_openapi, Swagger UI at /swagger/v1)."""
from __future__ import annotations


def register_apis(appbuilder) -> None:
    from app.api.orders import OrderApi

    appbuilder.add_api(OrderApi)
