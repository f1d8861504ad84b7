"""What load balancers and operators use: /healthz, /readyz and the request id."""
from __future__ import annotations

import logging
import shutil

import pytest

from app import create_app
from app.extensions import db
from tests.conftest import _app_config
from tests.redisserver import RedisServer


def test_healthz_answers_without_login_and_every_response_has_a_request_id(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    first = response.headers["X-Request-ID"]
    assert len(first) == 32 and first != client.get("/healthz").headers["X-Request-ID"]
    # the load balancer's id is kept; one that is not plain is replaced
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234abcd"}).headers["X-Request-ID"] == "lb-1234abcd"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>x</script>"}).headers["X-Request-ID"]
    assert len(odd) == 32 and "<" not in odd
    assert "X-Request-ID" in client.get("/cc/orders/").headers  # every page, not just the health checks


def test_readyz_checks_the_database_storage_and_limits(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200
    checks = response.get_json()["checks"]
    assert (checks["database"], checks["storage"], checks["limits"]) == ("ok", "ok", "ok")


def test_readyz_names_the_part_that_fails_and_logs_it_with_the_request_id(app, client, caplog):
    shutil.rmtree(app.config["UPLOAD_FOLDER"])
    with caplog.at_level(logging.WARNING, logger="app.serving"):
        response = client.get("/readyz", headers={"X-Request-ID": "probe-0001"})
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failed" and body["checks"]["storage"] == "failed" and body["checks"]["database"] == "ok"
    assert app.config["UPLOAD_FOLDER"] not in response.get_data(as_text=True)  # no paths or errors to the outside
    assert [r.request_id for r in caplog.records if "storage failed" in r.getMessage()] == ["probe-0001"], [(r.name, r.getMessage()) for r in caplog.records]


@pytest.fixture
def redis_app(tmp_path, database_url, redis_server):
    own = RedisServer().start()
    app = create_app({**_app_config(tmp_path, database_url), "RATELIMIT_ENABLED": True,
                      "RATELIMIT_STORAGE_URI": own.url()})
    yield app, own
    own.stop()
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def test_readyz_fails_while_redis_is_down(redis_app):
    app, redis = redis_app
    client = app.test_client()
    assert client.get("/readyz").get_json()["checks"]["limits"] == "ok"
    redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["limits"] == "failed"
    assert str(redis.port) not in response.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200  # the process itself is alive


def test_an_app_server_takes_its_startup_objects_out_of_full_collections(app):
    """gunicorn's post_worker_init freezes what the worker built: a full collection no longer walks the
    app's ~200,000 objects (about 100 ms each time on the benchmark machine)."""
    import gc
    import runpy
    from pathlib import Path

    settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
