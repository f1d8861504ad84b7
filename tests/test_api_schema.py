"""The REST API against its own OpenAPI description (Schemathesis).

Every operation of /api/v1/_openapi gets generated requests, valid and invalid ones,
with a company's API key: no answer may be a server error, and every status code,
content type, header and body must be the one the description promises. A stateful
run follows the description's links (a new order, then its details, history and files).

Alone: ``.venv/bin/python -m pytest -q tests/test_api_schema.py``
(``API_SCHEMA_EXAMPLES=1000`` for a longer run).
"""
from __future__ import annotations

import contextvars
import io
import os
import shutil

import pytest
import schemathesis
from flask.globals import _cv_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config._phases import InferenceConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.extensions import db
from app.security import roles
from tests.conftest import _app_config, _client_for
from tests.factories import make_company, make_order, make_sent_quote, make_user
from tests.helpers import PDF

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
EXAMPLES = int(os.environ.get("API_SCHEMA_EXAMPLES", "300"))  # per operation
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


def isolated(app):
    """Each request in its own app context, as in production (like conftest's IsolatedClient)."""

    def wsgi(environ, start_response):
        def run():
            _cv_app.set(None)
            return list(app(environ, start_response))

        return contextvars.copy_context().run(run)

    return wsgi


@pytest.fixture(scope="module")
def fuzz_database(tmp_path_factory, template_db, pg_cluster):
    """One database for the whole run (a clone of the migrated template, as conftest's)."""
    if pg_cluster is None:
        target = tmp_path_factory.mktemp("fuzz") / "portal.db"
        shutil.copyfile(template_db, target)
        yield f"sqlite:///{target}"
        return
    pg_cluster.execute("CREATE DATABASE portal_fuzz TEMPLATE portal_template")
    yield pg_cluster.url("portal_fuzz")
    pg_cluster.execute("DROP DATABASE IF EXISTS portal_fuzz WITH (FORCE)")


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory, fuzz_database):
    """An app with the limits on, a company with an order, a file and an API key."""
    tmp_path = tmp_path_factory.mktemp("fuzz-app")
    app = create_app({**_app_config(tmp_path, fuzz_database), "RATELIMIT_ENABLED": True,
                      "MAX_CONTENT_LENGTH": 256 * 1024})
    with app.app_context():
        from tests.test_api import create_key

        company = make_company("Fuzz GmbH")
        admin = make_user(company, role=roles.COMPANY_ADMIN, email="admin@fuzz.example")
        order = make_order(company, admin, items=2, reference="FUZZ-1")
        client = _client_for(app, admin)
        client.post(f"/cc/orders/{order.id}/files", content_type="multipart/form-data",
                    data={"target": "order", "files": [(io.BytesIO(PDF), "slip.pdf")]})
        make_sent_quote(order)  # the first valid decision takes it; later ones are 409s
        key = create_key(app, admin)
        known = {"pk": order.id, "file_id": order.attachments[0].id}
        db.session.remove()
    yield app, {"Authorization": f"Bearer {key}"}, known
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    app, headers, _known = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/_openapi", isolated(app), headers=headers)
    schema.config.generation.update(max_examples=EXAMPLES)
    # the stateful run follows the description's own links only. Links Schemathesis infers (e.g. from a
    # new device to changing it) depend on the database's state — a serial number added in one run is
    # a 409 when Hypothesis replays it — which Hypothesis refuses as flaky
    schema.config.phases.stateful.inference = InferenceConfig(algorithms=[])
    return schema


@pytest.fixture(scope="module")
def key_headers(fuzzed):
    return fuzzed[1]


def cases(operation, known: dict):
    """Valid and invalid requests, and valid ones for the seeded order and its file."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    path_names = {p.name for p in operation.path_parameters}
    if path_names:
        strategies.append(operation.as_strategy(
            GenerationMode.POSITIVE, path_parameters={k: v for k, v in known.items() if k in path_names}))
    return st.one_of(strategies)


# Every operation of the description; test_every_operation_is_fuzzed fails when one is missing.
OPERATIONS = [
    ("GET", "/api/v1/orders/"), ("POST", "/api/v1/orders/"), ("GET", "/api/v1/orders/_info"),
    ("GET", "/api/v1/orders/{pk}"), ("GET", "/api/v1/orders/{pk}/history"),
    ("GET", "/api/v1/orders/{pk}/files"), ("POST", "/api/v1/orders/{pk}/files"),
    ("GET", "/api/v1/orders/{pk}/files/{file_id}"), ("GET", "/api/v1/orders/{pk}/quote"),
    ("POST", "/api/v1/orders/{pk}/quote/accept"), ("POST", "/api/v1/orders/{pk}/quote/reject"),
    ("GET", "/api/v1/devices/"), ("POST", "/api/v1/devices/"), ("GET", "/api/v1/devices/{pk}"),
    ("PUT", "/api/v1/devices/{pk}"), ("PATCH", "/api/v1/devices/{pk}"), ("GET", "/api/v1/devices/history"),
    ("POST", "/api/v1/security/login"),
    ("POST", "/api/v1/security/refresh"), ("GET", "/api/v1/menu/"), ("GET", "/api/{version}/_openapi"),
]


def test_every_operation_is_fuzzed(api_schema):
    described = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert described == set(OPERATIONS)


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_keeps_its_description(api_schema, fuzzed, method, path):
    _app, key_headers, known = fuzzed
    operation = api_schema[path][method]

    @given(case=cases(operation, known))
    @SETTINGS
    def run(case):
        case.call_and_validate(headers=key_headers, checks=CHECKS)

    run()


def test_stateful_links(api_schema, key_headers):
    class Workflow(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": key_headers}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(max_examples=max(EXAMPLES // 4, 20), deadline=None, database=None,
                                   derandomize=True, stateful_step_count=6,
                                   suppress_health_check=list(HealthCheck)))
