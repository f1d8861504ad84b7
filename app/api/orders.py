"""``/api/v1/orders``: a company's orders for its ERP; every order for staff (read-only).

Built on FAB's ``ModelRestApi`` (list, get, ``_info``, OpenAPI) with the portal's
scoping: the base filter below limits every FAB query to the caller's company,
and the endpoints written here (create, history, files) look the order up
through :func:`app.security.scoping.scope_orders` before touching anything.
"""
from __future__ import annotations

import functools

from flask import current_app, request
from flask_appbuilder.api import ModelRestApi, expose, protect, safe
from flask_appbuilder.const import API_RESULT_RES_KEY, API_SELECT_COLUMNS_RIS_KEY
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload

from app.api.query import normalise_query_argument
from app.api.schemas import OrderCreateSchema, utc
from app.extensions import db
from app.models import Attachment, Order, StatusChange
from app.security.scoping import ALL_COMPANIES, api_scope, api_user, scope_orders
from app.services import files, idempotency, notify
from app.services.orders import create_portal_order

STATUS_COLUMNS = ["status.code", "status.label_de", "status.label_en", "status.is_final"]
CUSTOMER_COLUMNS = ["customer_name", "contact_person", "street", "postcode", "city", "country", "email", "phone"]
IDEMPOTENCY_HEADER = "Idempotency-Key"
ITEM_COLUMNS = ["items.id", "items.article_number", "items.description", "items.serial_number",
                "items.quantity", "items.fault_description"]


class CompanyScope(BaseFilter):
    """The base filter of every FAB query of this API: the caller's company (staff: all)."""

    name = "company scope"
    arg_name = "company_scope"

    def apply(self, query, value):
        scope = api_scope()
        if scope == ALL_COMPANIES:
            return query
        return query.filter(Order.company_id == scope)


@functools.cache
def _detail_statement():
    """The order of the API's detail with what its show columns name (status, company, articles)."""
    return select(Order).where(Order.id == bindparam("pk")).options(
        joinedload(Order.status), joinedload(Order.company), joinedload(Order.items))


def _no_value():
    return None


class ApiOrderInterface(SQLAInterface):
    """FAB's interface, counting the list's rows without the columns and joins of the page.

    FAB counts ``SELECT count(*) FROM (SELECT <every column> … LEFT JOIN status …)``; the
    filters alone give the same number, from the (company_id, created_at) index.
    """

    def query_count(self, query, filters=None, select_columns=None) -> int:
        query = self._apply_inner_all(query, filters, select_columns=None, aliases_mapping={})
        # count(*), not count(id): PostgreSQL answers it from the index alone
        stmt = query.order_by(None).statement.with_only_columns(func.count(), maintain_column_froms=True)
        return self.session.scalar(stmt)


def endpoint(permission: str):
    """FAB's guards of an endpoint: authenticated (JWT or API key), errors as JSON, permission."""

    def decorate(f):
        return protect()(safe(permission_name(permission)(f)))

    return decorate


def scoped_order(f):
    """Hand the endpoint the order ``pk`` if the caller may see it; 404 otherwise."""

    @functools.wraps(f)
    def wrapper(self, pk: int, **kwargs):
        order = db.session.scalars(scope_orders(select(Order).where(Order.id == pk))).first()
        if order is None:
            return self.response_404()
        return f(self, order, **kwargs)

    return wrapper


LABELS = {
    "id": _l("ID"), "rma_number": _l("RMA number"), "reference": _l("Reference number"), "source": _l("Source"),
    "status.code": _l("Status code"), "status.label_de": _l("Status (German)"),
    "status.label_en": _l("Status (English)"), "status.is_final": _l("Final"), "item_count": _l("Articles"),
    "created_at": _l("Created"), "updated_at": _l("Last changed"), "company.name": _l("Company"),
    "company.customer_number": _l("Customer number"), "customer_name": _l("Customer"),
    "contact_person": _l("Contact person"), "street": _l("Street"), "postcode": _l("Postcode"),
    "city": _l("City"), "country": _l("Country"), "email": _l("Email"), "phone": _l("Phone"),
    "items.id": _l("Article ID"), "items.article_number": _l("Article number"),
    "items.description": _l("Description"), "items.serial_number": _l("Serial number"),
    "items.quantity": _l("Quantity"), "items.fault_description": _l("Fault description"),
}


class OrderApi(ModelRestApi):
    resource_name = "orders"
    class_permission_name = "OrdersApi"
    method_permission_name = {
        "get_list": "get", "get": "get", "info": "info", "post": "post",
        "history": "get", "list_files": "get", "download": "get", "upload": "post",
    }
    include_route_methods = {"get_list", "get", "info", "post", "history", "list_files", "download", "upload"}
    allow_browser_login = False  # a session cookie never authenticates the API (CSRF)
    openapi_spec_tag = "Orders"
    datamodel = ApiOrderInterface(Order)
    base_order = ("created_at", "desc")  # newest first, as in the portal
    base_filters = [["company_id", CompanyScope, _no_value]]
    max_page_size = 100
    page_size = 25

    list_columns = ["id", "rma_number", "reference", "source", *STATUS_COLUMNS, "item_count",
                    "created_at", "updated_at"]
    show_columns = ["id", "rma_number", "reference", "source", *STATUS_COLUMNS, "created_at", "updated_at",
                    "company.name", "company.customer_number", *CUSTOMER_COLUMNS, *ITEM_COLUMNS]
    order_columns = ["id", "rma_number", "reference", "created_at", "updated_at", "item_count"]
    search_columns = ["rma_number", "reference", "source", "status", "created_at", "updated_at"]
    # _info describes what POST takes; no relation is offered (it would list other rows)
    add_columns = ["reference"]
    edit_columns = ["reference"]
    add_model_schema = OrderCreateSchema()
    # every label in the caller's language (FAB would make English ones from the column
    # names and translate only those that happen to be in a catalogue)
    label_columns = LABELS
    description_columns = {
        "reference": _l("Your reference number (e.g. your ERP's return number)"),
    }
    list_title = _l("Orders")
    show_title = _l("Order")
    add_title = _l("New order")
    edit_title = _l("Order")

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(normalise_query_argument)
        return blueprint

    # -- the detail: FAB's answer, from one statement built once ----------------------
    def get_headless(self, pk, **kwargs):
        """FAB's detail, with the order read by a statement built once per process. FAB builds its
        query anew for each call (the joins of the show columns, the base filter), which cost more
        than the database takes to answer it. A caller that picks its own columns
        (``columns`` in ``q``) gets FAB's own way."""
        args = kwargs.get("rison", {})
        if args.get(API_SELECT_COLUMNS_RIS_KEY):
            return super().get_headless(pk, **kwargs)
        order = db.session.scalars(scope_orders(_detail_statement()), {"pk": pk}).unique().first()
        if order is None:
            return self.response_404()
        response = {}
        self.set_response_key_mappings(response, self.get, args, **{API_SELECT_COLUMNS_RIS_KEY: []})
        response["id"] = pk
        response[API_RESULT_RES_KEY] = self.show_model_schema.dump(order, many=False)
        self.pre_get(response)
        return self.response(200, **response)

    # -- times in UTC, marked as such ---------------------------------------------
    def pre_get(self, data: dict) -> None:
        utc(data.get("result"))

    def pre_get_list(self, data: dict) -> None:
        for row in data.get("result", []):
            utc(row)

    # -- FAB's _info: there is no edit, so it describes none -------------------
    def info_headless(self, **kwargs):
        response = super().info_headless(**kwargs)
        payload = response.get_json()
        if "edit_columns" in payload:
            payload["edit_columns"] = []
        return self.response(response.status_code, **payload)

    # -- create ------------------------------------------------------------------
    @expose("/", methods=["POST"])
    @endpoint("post")
    def post(self):
        """Create an order with its articles for the caller's company
        ---
        post:
          description: >-
            Creates a repair order for the company of the API key's (or JWT's) user.
            The order gets its RMA number and the initial status. Only `reference`
            and `items` are accepted; any other field (a company, a status, an id)
            is refused with 422.


            Send an `Idempotency-Key` so that a retry (after a timeout, a lost answer, on
            another server) never creates a second order: a request with the key and the
            same body within TTL_HOURS hours gets the first answer again
            (201, the same body, `Idempotent-Replayed: true`) and creates nothing. The same
            key with another body is refused with 422; while the first request with the key
            is still being processed, another one may get 409 (try again). Keys are your
            user's own: another user's key never finds your order. After
            TTL_HOURS hours a key may be used again.
          parameters:
          - in: header
            name: Idempotency-Key
            required: false
            description: >-
              A key of your choice (1-255 printable ASCII characters, e.g. a UUID or your ERP's
              return number) naming this order; anything else is refused with 400.
            schema:
              type: string
              minLength: 1
              maxLength: 255
              pattern: '^[ -~]{1,255}$'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/{{self.__class__.__name__}}.post'
          responses:
            201:
              description: >-
                The order as `GET /orders/{pk}` returns it; for a retry with the same
                `Idempotency-Key` and body, the first answer again
              headers:
                Idempotent-Replayed:
                  description: '`true`: this is the answer to an earlier request with the same Idempotency-Key; nothing was created'
                  schema:
                    type: string
                    enum: ['true']
              content:
                application/json:
                  schema:
                    type: object
                    required: [id, result]
                    properties:
                      id:
                        type: integer
                      result:
                        $ref: '#/components/schemas/{{self.__class__.__name__}}.get'
            400:
              description: The body is no JSON, or the Idempotency-Key is not 1-255 printable ASCII characters
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            403:
              description: The API key's (or JWT's) user belongs to no company
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            409:
              description: >-
                Another request with this Idempotency-Key is still being processed (or did not
                finish): send it again
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
            422:
              description: >-
                The body is refused (the fields with their messages), or the Idempotency-Key
                was already used with another body
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/Error'
        """
        user = api_user()
        if not getattr(user, "company_id", None):
            return self.response(403, message="Orders are created by the users of a company.")
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is not None and not idempotency.valid_key(key):
            return self.response_400(message={IDEMPOTENCY_HEADER: [
                "An Idempotency-Key is 1 to 255 printable ASCII characters."]})
        if not request.is_json:
            return self.response_400(message="Send the order as JSON (Content-Type: application/json).")
        payload = request.get_json(silent=True)
        try:
            data = self.add_model_schema.load(payload)
        except ValidationError as err:
            return self.response_422(message=err.messages)
        if key is None:
            return self._create(user, data, None)
        digest = idempotency.request_hash("api:orders", payload)
        try:
            first = idempotency.find(user.id, key, digest)
        except idempotency.KeyConflict:
            return self._key_conflict()
        if first is not None:
            return self._replay(first)
        return self._create(user, data, (key, digest))

    def _create(self, user, data: dict, idempotent: tuple[str, str] | None):
        """The order, and with an idempotency key the key with the answer, in one transaction."""
        items = [
            {
                "article_number": item.get("article_number") or None,
                "description": item["description"],
                "serial_number": item.get("serial_number") or None,
                "quantity": item.get("quantity", 1),
                "fault_description": item["fault_description"],
            }
            for item in data["items"]
        ]
        try:
            entry = idempotency.claim(user.id, *idempotent) if idempotent else None
            order = create_portal_order(user.company, user, data["reference"], items)
            notify.order_created(order)
            db.session.flush()
            body = current_app.json.dumps({"id": order.id, "result": utc(self.show_model_schema.dump(order))})
            if entry is not None:
                idempotency.remember(entry, order, 201, body)
            db.session.commit()
        except idempotency.Replay as replay:
            return self._replay(replay.entry)
        except idempotency.KeyConflict:
            return self._key_conflict()
        except idempotency.KeyInProgress:
            return self.response(409, message="Another request with this Idempotency-Key is still being "
                                              "processed. Please send it again.")
        except BaseException:
            db.session.rollback()
            raise
        return _json(body, 201)

    def _replay(self, entry):
        """The first answer to the key again, if its order is still the caller's to see (a user
        moved to another company never sees the old company's order again: the key is taken)."""
        visible = db.session.scalar(scope_orders(select(Order.id).where(Order.id == entry.order_id)))
        if visible is None or entry.response_body is None:
            return self._key_conflict()
        response = _json(entry.response_body, entry.response_status or 201)
        response.headers["Idempotent-Replayed"] = "true"
        return response

    def _key_conflict(self):
        return self.response_422(message={IDEMPOTENCY_HEADER: [
            "This Idempotency-Key was already used for another order (another body). "
            "Use a new key for a new order."]})

    # -- status history ---------------------------------------------------------
    @expose("/<int:pk>/history", methods=["GET"])
    @endpoint("get")
    @scoped_order
    def history(self, order: Order):
        """The order's processing status history, newest first
        ---
        get:
          parameters:
          - pk
          responses:
            200:
              description: Status changes, newest first
              content:
                application/json:
                  schema:
                    type: object
                    required: [id, rma_number, result]
                    properties:
                      id:
                        type: integer
                      rma_number:
                        type: string
                      result:
                        type: array
                        items:
                          $ref: '#/components/schemas/StatusChange'
        """
        changes = db.session.scalars(
            select(StatusChange).where(StatusChange.order_id == order.id)
            .order_by(StatusChange.changed_at.desc(), StatusChange.id.desc())
        ).all()
        result = [
            {
                "changed_at": change.changed_at.isoformat() + "Z",
                "status": _status(change.to_status),
                "previous_status": _status(change.from_status) if change.from_status else None,
                "note": change.note,
            }
            for change in changes
        ]
        return self.response(200, id=order.id, rma_number=order.rma_number, result=result)

    # -- files ------------------------------------------------------------------
    @expose("/<int:pk>/files", methods=["GET"])
    @endpoint("get")
    @scoped_order
    def list_files(self, order: Order):
        """The files of the order and of its articles
        ---
        get:
          parameters:
          - pk
          responses:
            200:
              description: The files (`item_id` is null for files of the whole order)
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/OrderFiles'
        """
        return self.response(200, id=order.id, result=[_file(a) for a in order.attachments])

    @expose("/<int:pk>/files", methods=["POST"])
    @endpoint("post")
    @scoped_order
    def upload(self, order: Order):
        """Attach files to the order or to one of its articles
        ---
        post:
          parameters:
          - pk
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
                  required: [file]
                  properties:
                    file:
                      type: array
                      minItems: 1
                      items:
                        type: string
                        format: binary
                      description: The files (the accepted types and sizes are added when the description is served)
                    item_id:
                      type: integer
                      description: An article of this order; leave out for the whole order
          responses:
            201:
              description: The stored files
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/OrderFiles'
        """
        item = None
        raw_item = (request.form.get("item_id") or "").strip()
        if raw_item:
            item = next((i for i in order.items if str(i.id) == raw_item), None)
            if item is None:
                return self.response_400(message={"item_id": ["This order has no article with this id."]})
        uploads = files.real_files(request.files.getlist("file"))
        if not uploads:
            return self.response_400(message={"file": ["Send at least one file in the field 'file'."]})
        try:
            rows = files.attach(order, uploads, item=item, user=api_user())
        except files.UploadRefused as refused:
            return self.response_400(message={"file": [refused.message]})
        return self.response(201, id=order.id, result=[_file(a) for a in rows])

    @expose("/<int:pk>/files/<int:file_id>", methods=["GET"])
    @endpoint("get")
    @scoped_order
    def download(self, order: Order, file_id: int):
        """Download one file of the order
        ---
        get:
          parameters:
          - pk
          - file_id
          responses:
            200:
              description: The file, as an attachment, with the content type it was stored with
              content:
                '*/*':
                  schema:
                    type: string
                    format: binary
        """
        attachment = db.session.scalars(
            select(Attachment).where(Attachment.id == file_id, Attachment.order_id == order.id)
        ).first()
        if attachment is None:
            return self.response_404()
        try:
            return files.send_attachment(attachment)
        except files.AttachmentMissing:  # FAB's @safe would make it a 500
            return self.response(404, message="The file is not available in the file storage.")


def _json(body: str, status: int):
    """A JSON answer from its text (the first answer and its replays are the same bytes)."""
    return current_app.response_class(body, status=status, content_type="application/json; charset=utf-8")


def _status(status) -> dict:
    return {"code": status.code, "label_de": status.label_de, "label_en": status.label_en,
            "is_final": status.is_final}


def _file(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "item_id": attachment.item_id,
        "name": attachment.original_name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_at": attachment.uploaded_at.isoformat() + "Z",
    }
