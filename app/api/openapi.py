"""``/api/<version>/_openapi``: FAB's OpenAPI description, corrected where FAB's generator
says something the responses do not do (checked by Schemathesis, tests/test_api_schema.py).

FAB 5.3 documents ids as strings, ``add_columns`` as an object, error messages as
strings only, a 500 for most operations, and leaves out 401/403/413/429. One error
shape is documented here (``{"message": …}``, a text or the fields with their
messages), every time as UTC, and each operation gets the answers it can give.
"""
from __future__ import annotations

import re

from flask import current_app
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.api.manager import OpenApi

ERROR = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {
            "description": "What went wrong: a text, or the fields with their messages "
                           "(e.g. `{\"reference\": [\"Must not be empty.\"]}`).",
            "anyOf": [{"type": "string"}, {"type": "object"}, {"type": "array"}],
        },
    },
}
ERRORS = {
    "400": "Bad request: an argument or the body cannot be read",
    "401": "No valid credentials: API key or JWT missing, malformed, expired or revoked",
    "403": "The credentials are valid but do not allow this",
    "404": "Not found, or not visible to the caller",
    "409": "A conflict: the quote's version cannot be decided (any more) — replaced by a newer one, decided "
           "or expired —, or the serial number is already in the company's device register",
    "413": "The request is larger than the server accepts",
    "422": "The body was read but its content is refused",
    "429": "Too many failed logins for this account or address: wait and try again",
}
UTC = "UTC, ISO 8601, always ending in `Z`"
STATUS = {
    "type": "object",
    "required": ["code", "label_de", "label_en", "is_final"],
    "properties": {"code": {"type": "string"}, "label_de": {"type": "string"}, "label_en": {"type": "string"},
                   "is_final": {"type": "boolean"}},
}
SCHEMAS = {
    "Error": ERROR,
    "OrderStatus": STATUS,
    "StatusChange": {
        "type": "object",
        "required": ["changed_at", "status", "previous_status", "note"],
        "properties": {
            "changed_at": {"type": "string", "format": "date-time"},
            "status": {"$ref": "#/components/schemas/OrderStatus"},
            "previous_status": {"nullable": True, "allOf": [{"$ref": "#/components/schemas/OrderStatus"}]},
            "note": {"type": "string", "nullable": True},
        },
    },
    "OrderFile": {
        "type": "object",
        "required": ["id", "item_id", "name", "content_type", "size", "sha256", "uploaded_at"],
        "properties": {
            "id": {"type": "integer"},
            "item_id": {"type": "integer", "nullable": True, "description": "null: a file of the whole order"},
            "name": {"type": "string"},
            "content_type": {"type": "string", "nullable": True},
            "size": {"type": "integer", "nullable": True},
            "sha256": {"type": "string", "nullable": True},
            "uploaded_at": {"type": "string", "format": "date-time"},
        },
    },
    "QuoteLine": {
        "type": "object",
        "required": ["position", "text", "quantity", "unit_price", "amount", "item_id"],
        "properties": {
            "position": {"type": "integer"},
            "text": {"type": "string"},
            "quantity": {"type": "string", "description": "A decimal number, e.g. `1.50`"},
            "unit_price": {"type": "string", "description": "Net, a decimal number, e.g. `120.00`"},
            "amount": {"type": "string", "description": "quantity × unit price, rounded to the cent"},
            "item_id": {"type": "integer", "nullable": True, "description": "The article of the order it is for"},
        },
    },
    "Quote": {
        "type": "object",
        "required": ["version", "state", "expired", "decidable", "currency", "vat_rate", "net", "vat", "gross",
                     "valid_until", "note", "sent_at", "decided_at", "decided_by", "po_number", "reject_action",
                     "auto_approved_limit", "lines"],
        "properties": {
            "version": {"type": "integer", "description": "Send it back when you decide"},
            "state": {"type": "string", "enum": ["sent", "accepted", "rejected", "replaced"]},
            "expired": {"type": "boolean", "description": "Sent, undecided and past `valid_until`"},
            "decidable": {"type": "boolean", "description": "Can be accepted or rejected now"},
            "currency": {"type": "string", "description": "ISO 4217, e.g. `EUR`"},
            "vat_rate": {"type": "string", "description": "Percent, a decimal number, e.g. `19.00`"},
            "net": {"type": "string"},
            "vat": {"type": "string"},
            "gross": {"type": "string"},
            "valid_until": {"type": "string", "format": "date"},
            "note": {"type": "string", "nullable": True},
            "sent_at": {"type": "string", "format": "date-time", "nullable": True},
            "decided_at": {"type": "string", "format": "date-time", "nullable": True},
            "decided_by": {"type": "string", "nullable": True, "description": "Who accepted or rejected it"},
            "po_number": {"type": "string", "nullable": True},
            "reject_action": {"type": "string", "nullable": True, "enum": ["return", "dispose", None]},
            "auto_approved_limit": {"type": "string", "nullable": True,
                                    "description": "Accepted at sending: the gross total was within this "
                                                   "approval limit of the company"},
            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/QuoteLine"}},
        },
    },
    "QuoteAnswer": {
        "type": "object",
        "required": ["id", "rma_number", "result"],
        "properties": {"id": {"type": "integer"}, "rma_number": {"type": "string"},
                       "result": {"$ref": "#/components/schemas/Quote"}},
    },
    "QuoteAccept": {
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {
            "version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "po_number": {"type": "string", "nullable": True, "maxLength": 50,
                          "description": "Your purchase order number (required where your company says so)"},
        },
    },
    "QuoteReject": {
        "type": "object",
        "required": ["version", "action"],
        "additionalProperties": False,
        "properties": {
            "version": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "action": {"type": "string", "enum": ["return", "dispose"],
                       "description": "`return`: send the devices back unrepaired; `dispose`"},
        },
    },
    "OrderFiles": {
        "type": "object",
        "required": ["id", "result"],
        "properties": {"id": {"type": "integer"},
                       "result": {"type": "array", "items": {"$ref": "#/components/schemas/OrderFile"}}},
    },
}
_TEXT_OR_NULL = {"type": "string", "nullable": True}
_DATE_OR_NULL = {"type": "string", "format": "date", "nullable": True}
DEVICE_FIELDS = {
    "serial_number": {"type": "string", "minLength": 1, "maxLength": 100,
                      "description": "Unique within the company's register"},
    "article_number": {**_TEXT_OR_NULL, "maxLength": 100},
    "description": {"type": "string", "minLength": 1, "maxLength": 200},
    "delivered_on": {**_DATE_OR_NULL, "description": "Delivery date"},
    "warranty_until": {**_DATE_OR_NULL, "description": "Warranty end (null: unknown)"},
    "location": {**_TEXT_OR_NULL, "maxLength": 100, "description": "Location or cost centre"},
    "note": {**_TEXT_OR_NULL, "maxLength": 2000},
    "active": {"type": "boolean", "description": "false: retired"},
}
DEVICE = {
    "type": "object",
    "required": ["id", "company_id", *DEVICE_FIELDS, "warranty", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"}, "company_id": {"type": "integer"}, **DEVICE_FIELDS,
        "serial_number": {"type": "string"}, "description": {"type": "string"},
        "article_number": _TEXT_OR_NULL, "location": _TEXT_OR_NULL, "note": _TEXT_OR_NULL,
        "warranty": {"type": "string", "enum": ["in", "expired", "unknown"],
                     "description": "The warranty state today"},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
SCHEMAS.update({
    "Device": DEVICE,
    "DeviceAnswer": {"type": "object", "required": ["id", "result"],
                     "properties": {"id": {"type": "integer"}, "result": {"$ref": "#/components/schemas/Device"}}},
    "DeviceList": {
        "type": "object", "required": ["count", "ids", "result"],
        "properties": {"count": {"type": "integer", "description": "How many devices match the filters"},
                       "ids": {"type": "array", "items": {"type": "integer"}},
                       "result": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}}},
    },
    "DeviceCreate": {"type": "object", "required": ["serial_number", "description"], "additionalProperties": False,
                     "properties": DEVICE_FIELDS},
    "DeviceUpdate": {"type": "object", "additionalProperties": False, "properties": DEVICE_FIELDS,
                     "description": "Only the fields sent are changed"},
    "DeviceHistory": {
        "type": "object", "required": ["serial_number", "devices", "result"],
        "properties": {
            "serial_number": {"type": "string"},
            "devices": {"type": "array", "items": {"$ref": "#/components/schemas/Device"},
                        "description": "The register's devices with this serial number (staff: of every company)"},
            "result": {"type": "array", "items": {
                "type": "object",
                "required": ["order_id", "rma_number", "created_at", "status", "item_id", "article_number",
                             "description", "quantity", "fault_description", "in_warranty", "repeat_of_order_id"],
                "properties": {
                    "order_id": {"type": "integer"}, "rma_number": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "status": {"$ref": "#/components/schemas/OrderStatus"},
                    "item_id": {"type": "integer"}, "article_number": _TEXT_OR_NULL,
                    "description": {"type": "string"}, "quantity": {"type": "integer"},
                    "fault_description": _TEXT_OR_NULL,
                    "in_warranty": {"type": "boolean", "nullable": True,
                                    "description": "As the register had it when the order was created; null: unknown"},
                    "repeat_of_order_id": {"type": "integer", "nullable": True,
                                           "description": "A repeat repair: the earlier order it came back after"},
                },
            }},
        },
    },
})
# path parameters that docstrings name (``parameters: [pk]``)
PARAMETERS = {
    "device_pk": {"name": "pk", "schema": {"type": "integer"}, "description": "The device's id"},
    "pk": {"schema": {"type": "integer"}, "description": "The order's id"},
    "file_id": {"schema": {"type": "integer"}, "description": "The id of one of the order's files"},
}
INFO_COLUMNS = {
    "type": "array",
    "items": {"type": "object", "properties": {"name": {"type": "string"}, "label": {"type": "string"},
                                               "description": {"type": "string"}, "type": {"type": "string"},
                                               "required": {"type": "boolean"}}},
}
LOGIN_RESPONSE = {
    "type": "object",
    "required": ["access_token"],
    "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"}},
}
# Schemathesis follows these in its stateful run: a new order, then what can be done with it
ORDER_LINKS = {
    "get_orders_pk": "GetOrder", "get_orders_pk_history": "GetHistory",
    "get_orders_pk_files": "ListFiles", "post_orders_pk_files": "UploadFiles",
}


def operation_id(method: str, path: str) -> str:
    """``GET /api/v1/orders/{pk}/files`` -> ``get_orders_pk_files``."""
    path = re.sub(r"^/api/(v1/)?", "", path)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", path) if w]
    return "_".join([method.lower(), *words])


def _error(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _times_in_utc(node) -> None:
    """Every date-time in the description is UTC with ``Z``, as the API sends it."""
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            node["description"] = UTC
            node["pattern"] = "Z$"
        for value in node.values():
            _times_in_utc(value)
    elif isinstance(node, list):
        for value in node:
            _times_in_utc(value)


def _ids_as_integers(spec: dict) -> None:
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            schema = (operation.get("responses", {}).get("200", {}).get("content", {})
                      .get("application/json", {}).get("schema", {}))
            properties = schema.get("properties", {})
            if properties.get("id", {}).get("type") == "string":
                properties["id"]["type"] = "integer"
            if properties.get("ids", {}).get("items", {}).get("type") == "string":
                properties["ids"]["items"]["type"] = "integer"
            if path.endswith("/_info") and "add_columns" in properties:
                properties["add_columns"] = INFO_COLUMNS
                properties["edit_columns"] = INFO_COLUMNS


def _columns_may_be_left_out(spec: dict) -> None:
    """``q=(columns:!(…))`` picks the columns of a list or detail: none of them is always there."""
    for name, schema in spec["components"]["schemas"].items():
        if name.startswith(("OrderApi.get", "OrderApi.get_list")):
            schema.pop("required", None)
            schema["description"] = "Every column unless `columns` in `q` picks some."


def _answers(method: str, path: str, operation: dict) -> None:
    """Each operation lists every answer it can give; none of them is a 500."""
    responses = operation.setdefault("responses", {})
    responses.pop("500", None)
    codes = {"400"}  # any argument with a NUL byte, a page number that is no number …
    if operation.get("security"):
        codes |= {"401", "403"}
    if "{" in path:
        codes.add("404")
    if method in ("post", "put", "patch"):
        codes.add("413")
    if path.endswith("/security/login"):
        codes |= {"401", "429"}
    for code in sorted(codes):
        responses.setdefault(code, {"$ref": f"#/components/responses/{code}"})


def _login(spec: dict) -> None:
    login = spec["paths"].get("/api/v1/security/login", {}).get("post")
    if not login:
        return
    body = login["requestBody"]["content"]["application/json"]["schema"]
    body["required"] = ["username", "password", "provider"]
    body["properties"]["provider"]["enum"] = ["db"]
    login["responses"]["200"]["content"]["application/json"]["schema"] = LOGIN_RESPONSE
    login["description"] = ("A JWT (and with `refresh: true` a refresh token) for a user's email and "
                            "password, and `code` for a user with two-factor login (the 6-digit code of "
                            "their authenticator app, or a recovery code; each is accepted once). Failed "
                            "logins and wrong codes are limited per account and per address (429); "
                            "successful ones never count. Machines use an API key instead.")
    refresh = spec["paths"].get("/api/v1/security/refresh", {}).get("post")
    if refresh:
        refresh["responses"]["200"]["content"]["application/json"]["schema"]["required"] = ["access_token"]


def _upload(spec: dict) -> None:
    upload = spec["paths"].get("/api/v1/orders/{pk}/files", {}).get("post")
    if not upload:
        return
    config = current_app.config
    extensions = ", ".join(config["UPLOAD_EXTENSIONS"])
    file = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["file"]
    file["description"] = (
        f"One or more files (repeat the field). Accepted: {extensions} — checked by name and content; "
        f"at most {config['UPLOAD_MAX_FILE_SIZE'] // (1024 * 1024)} MB each and "
        f"{config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB per request (413). "
        "Refused files are named in the 400 answer; nothing is stored then."
    )


def _idempotency(spec: dict) -> None:
    """How long a new order's Idempotency-Key is kept, as this server is configured."""
    post = spec["paths"].get("/api/v1/orders/", {}).get("post")
    if post and "description" in post:
        hours = str(current_app.config.get("IDEMPOTENCY_TTL_HOURS", 24))
        post["description"] = post["description"].replace("TTL_HOURS", hours)


def _links(spec: dict) -> None:
    created = spec["paths"].get("/api/v1/orders/", {}).get("post", {}).get("responses", {}).get("201")
    if created:
        created["links"] = {
            name: {"operationId": op_id, "parameters": {"pk": "$response.body#/id"}}
            for op_id, name in ORDER_LINKS.items()
        }
    uploaded = spec["paths"].get("/api/v1/orders/{pk}/files", {}).get("post", {}).get("responses", {}).get("201")
    if uploaded:
        uploaded["links"] = {"DownloadFile": {
            "operationId": "get_orders_pk_files_file_id",
            "parameters": {"pk": "$response.body#/id", "file_id": "$response.body#/result/0/id"},
        }}


def _page_range(spec: dict) -> None:
    """A list page is 0 … MAX_PAGE (another number is refused with 400)."""
    from app.api.query import MAX_PAGE

    page = spec["components"]["schemas"].get("get_list_schema", {}).get("properties", {}).get("page")
    if page is not None:
        page.update(minimum=0, maximum=MAX_PAGE)


def correct(spec: dict) -> dict:
    """The description as the API really answers."""
    components = spec.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components["responses"] = {code: _error(text) for code, text in ERRORS.items()}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            operation["operationId"] = operation_id(method, path)
            _answers(method, path, operation)
    _ids_as_integers(spec)
    _columns_may_be_left_out(spec)
    _page_range(spec)
    _login(spec)
    _upload(spec)
    _idempotency(spec)
    _links(spec)
    _times_in_utc(spec)
    return spec


class PortalOpenApi(OpenApi):
    """FAB's OpenAPI view (same route, endpoint and permission), serving the corrected description."""

    class_permission_name = "OpenApi"

    @expose("/<version>/_openapi")
    @protect()
    @safe
    def get(self, version):
        """The OpenAPI description of one API version
        ---
        get:
          description: The OpenAPI description of every API of this version
          parameters:
          - in: path
            schema:
              type: string
            name: version
          responses:
            200:
              description: The OpenAPI description
              content:
                application/json:
                  schema:
                    type: object
            404:
              $ref: '#/components/responses/404'
        """
        api_spec = self._create_api_spec(version)
        for name, parameter in PARAMETERS.items():
            api_spec.components.parameter(name, "path", parameter)
        apis = [view for view in self.appbuilder.baseviews
                if hasattr(view, "add_api_spec") and getattr(view, "version", None) == version]
        if not apis:
            return self.response_404()
        for api in apis:
            api.add_api_spec(api_spec)
        return self.response(200, **correct(api_spec.to_dict()))
