"""Attachments in the local folder and in S3-compatible object storage (moto's server over HTTP).

The same promises on both backends: what goes up comes down byte for byte, only to its company;
a refused or failed order leaves no file behind; a file missing in the storage is a 404 with its
own message, never a 500; a 25 MB upload is never whole in memory. And the local files move into
a bucket with ``flask portal storage migrate``: verified, idempotent, resumable.
"""
from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Order
from app.services import files
from app.services.storage import PART_SIZE, S3Storage, get_storage
from tests.conftest import _client_for
from tests.factories import PASSWORD, make_order
from tests.helpers import PDF, PNG, new_order_data, text, upload
from tests.s3server import BUCKET

API = "/api/v1/orders"
MB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def backend(request):
    return request.param


@pytest.fixture
def s3_prefix():
    """Each test its own part of the session's bucket."""
    return f"test-{uuid.uuid4().hex[:12]}/"


def s3_settings(server, prefix) -> dict:
    return {"S3_BUCKET": BUCKET, "S3_PREFIX": prefix, "S3_ENDPOINT_URL": server.url, "S3_REGION": "us-east-1"}


@pytest.fixture
def app_overrides(request, backend, s3_prefix):
    if backend == "local":
        return {"FILE_STORAGE": "local"}
    server = request.getfixturevalue("s3_server")
    return {"FILE_STORAGE": "s3", **s3_settings(server, s3_prefix)}


def stored(app) -> list[str]:
    """Every name in the app's storage (the folder, or the bucket under the test's prefix)."""
    return list(get_storage().names())


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def jwt_for(client, email) -> dict:
    response = client.post("/api/v1/security/login", json={"username": email, "password": PASSWORD, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def no_unfinished_uploads(request, backend) -> bool:
    return backend == "local" or request.getfixturevalue("s3_server").unfinished_uploads() == []


# -- up and down, only for the own company ---------------------------------------------------------

def test_portal_upload_comes_back_byte_identical_and_only_to_its_company(app, backend, customer_client, customer_b,
                                                                         company_a, tmp_path):
    photo = PNG + bytes(range(256)) * 40
    response = customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                                    data=new_order_data("PO-S3", files=[upload("Prüfbericht.pdf"),
                                                                        upload("foto.png", photo)]))
    assert response.status_code == 302
    order = db.session.scalars(select(Order).where(Order.reference == "PO-S3")).one()
    by_name = {a.original_name: a for a in order.attachments}
    # random names in the storage, nothing of the original name; nothing on this server's disk with s3
    assert sorted(stored(app)) == sorted(a.stored_name for a in order.attachments)
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in stored(app))
    if backend == "s3":
        assert not any((tmp_path / "uploads").iterdir())
    for name, content in (("Prüfbericht.pdf", PDF), ("foto.png", photo)):
        attachment = by_name[name]
        response = customer_client.get(f"/cc/orders/{order.id}/files/{attachment.id}")
        assert response.status_code == 200 and response.data == content
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.headers["Content-Length"] == str(len(content))
        assert response.headers["ETag"] == f'"{attachment.sha256}"'  # the same on every server
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
    assert "Pr%C3%BCfbericht.pdf" in customer_client.get(
        f"/cc/orders/{order.id}/files/{by_name['Prüfbericht.pdf'].id}").headers["Content-Disposition"]
    # a byte range, as before
    response = customer_client.get(f"/cc/orders/{order.id}/files/{by_name['foto.png'].id}",
                                   headers={"Range": "bytes=8-15"})
    assert response.status_code == 206 and response.data == photo[8:16]
    # company B: 404 for company A's file, by any of its ids
    other = _client_for(app, customer_b)
    for attachment in order.attachments:
        response = other.get(f"/cc/orders/{order.id}/files/{attachment.id}")
        assert response.status_code == 404 and PDF not in response.data and b"PNG" not in response.data


def test_api_upload_comes_back_byte_identical_and_only_to_its_company(app, backend, company_a, customer_a,
                                                                      customer_b):
    order = make_order(company_a, customer_a)
    content = PDF + b"%" + bytes(range(256)) * 100
    client = app.test_client()
    response = client.post(f"{API}/{order.id}/files", headers=jwt_for(client, customer_a.email),
                           content_type="multipart/form-data", data={"file": [(io.BytesIO(content), "Bericht.pdf")]})
    assert response.status_code == 201, response.get_data(as_text=True)
    row = response.get_json()["result"][0]
    assert row["sha256"] == hashlib.sha256(content).hexdigest() and row["size"] == len(content)
    url = f"{API}/{order.id}/files/{row['id']}"
    response = client.get(url, headers=jwt_for(client, customer_a.email))
    assert response.status_code == 200 and response.data == content
    assert 'filename=Bericht.pdf' in response.headers["Content-Disposition"]
    response = client.get(url, headers=jwt_for(client, customer_b.email))
    assert response.status_code == 404 and response.get_json() == {"message": "Not found"}
    response = client.post(f"{API}/{order.id}/files", headers=jwt_for(client, customer_b.email),
                           content_type="multipart/form-data", data={"file": [(io.BytesIO(PDF), "evil.pdf")]})
    assert response.status_code == 404
    assert stored(app) == [db.session.get(Attachment, row["id"]).stored_name]


# -- nothing left behind ---------------------------------------------------------------------------

def test_a_refused_file_leaves_no_file_of_the_order_behind(app, backend, request, customer_client):
    app.config["UPLOAD_MAX_FILE_SIZE"] = 6 * MB  # above one part: the refusal comes mid-multipart
    data = new_order_data(articles=[dict(description="X", quantity="1", fault_description="f",
                                         files=[upload("ok.pdf")])],
                          files=[upload("big.pdf", PDF + b"x" * (7 * MB))])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and "big.pdf" in text(response)
    assert count(Order) == 0 and count(Attachment) == 0
    assert stored(app) == [] and no_unfinished_uploads(request, backend)


def test_a_database_error_after_the_files_were_stored_leaves_no_file(app, backend, request, customer_client,
                                                                     monkeypatch):
    import app.views.portal as portal

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(portal, "create_portal_order", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    data = new_order_data(files=[upload("a.pdf"), upload("b.png", PNG)])
    response = customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 500
    assert count(Order) == 0 and stored(app) == [] and no_unfinished_uploads(request, backend)


def test_an_empty_file_leaves_nothing_behind(app, backend, company_a, customer_a):
    order = make_order(company_a, customer_a)
    client = app.test_client()
    response = client.post(f"{API}/{order.id}/files", headers=jwt_for(client, customer_a.email),
                           content_type="multipart/form-data", data={"file": [(io.BytesIO(b""), "leer.txt")]})
    assert response.status_code == 400 and "leer.txt" in response.get_data(as_text=True)
    assert stored(app) == [] and count(Attachment) == 0


# -- a file the storage does not have --------------------------------------------------------------

def test_a_file_missing_in_the_storage_is_a_404_with_its_own_message(app, backend, customer_client, customer_a,
                                                                     staff_client):
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-GONE", files=[upload("Lieferschein.pdf")]))
    attachment = db.session.scalars(select(Attachment)).one()
    get_storage().delete(attachment.stored_name)  # e.g. uploaded on a server whose disk this one cannot see
    response = customer_client.get(f"/cc/orders/{attachment.order_id}/files/{attachment.id}")
    assert response.status_code == 404
    page = text(response)
    assert "Lieferschein.pdf" in page
    assert "cannot be found in our file storage" in page or "in unserer Dateiablage nicht zu finden" in page
    response = staff_client.get(f"/backend/orders/file/{attachment.id}")
    assert response.status_code == 404 and "Lieferschein.pdf" in text(response)
    client = app.test_client()
    response = client.get(f"{API}/{attachment.order_id}/files/{attachment.id}",
                          headers=jwt_for(client, customer_a.email))
    assert response.status_code == 404
    assert response.get_json() == {"message": "The file is not available in the file storage."}


# -- memory ----------------------------------------------------------------------------------------

def test_a_25_mb_upload_is_never_whole_in_memory(app, backend, company_a, customer_a, tmp_path):
    size = 25 * MB
    app.config.update(UPLOAD_MAX_FILE_SIZE=size, MAX_CONTENT_LENGTH=size + MB)
    source = tmp_path / "scan.pdf"
    digest = hashlib.sha256()
    with open(source, "wb") as out:  # written in pieces: the test itself never holds it either
        block = PDF + bytes(range(256)) * 4096
        written = 0
        while written < size:
            piece = block[: size - written]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    order = make_order(company_a, customer_a)
    client = app.test_client()
    headers = jwt_for(client, customer_a.email)
    get_storage().check()  # the client is built once per app (its S3 model alone is megabytes): not per upload
    with open(source, "rb") as fh:
        tracemalloc.start()
        try:
            response = client.post(f"{API}/{order.id}/files", headers=headers, content_type="multipart/form-data",
                                   data={"file": [(fh, "scan.pdf")]})
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["result"][0]["sha256"] == digest.hexdigest()
    assert peak < 2 * PART_SIZE + 2 * MB < size / 2, f"peak {peak / MB:.1f} MB for a {size / MB:.0f} MB file"
    stream, stored_size = get_storage().open(stored(app)[0])
    with stream:
        check = hashlib.sha256()
        while chunk := stream.read(MB):
            check.update(chunk)
    assert stored_size == size and check.hexdigest() == digest.hexdigest()


# -- flask portal storage migrate ------------------------------------------------------------------

def migrate(app):
    return app.test_cli_runner().invoke(args=["portal", "storage", "migrate"])


@pytest.mark.parametrize("backend", ["local"])
def test_migrate_copies_the_local_files_verified_idempotent_and_resumable(app, backend, s3_server, s3_prefix,
                                                                          customer_client, monkeypatch):
    from app.services.storage_migration import checksums

    app.config.update(s3_settings(s3_server, s3_prefix))
    big = PDF + bytes(range(256)) * (6 * MB // 256)  # more than one part: a multipart copy
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-MIGRATE", files=[upload("a.pdf"), upload("b.png", PNG),
                                                                  upload("big.pdf", big)]))
    customer_client.post("/cc/orders/new", content_type="multipart/form-data",
                         data=new_order_data("PO-LOST", files=[upload("lost.pdf")]))
    rows = {a.original_name: a for a in db.session.scalars(select(Attachment))}
    local = get_storage()
    local.delete(rows["lost.pdf"].stored_name)  # a row whose file is gone: reported, nothing to copy
    (local.folder / "notes.txt").write_text("not an attachment")
    names = sorted(a.stored_name for n, a in rows.items() if n != "lost.pdf")
    s3 = s3_server.client()
    s3.put_object(Bucket=BUCKET, Key=s3_prefix + names[-1], Body=b"an earlier, broken copy")

    # stopped after the first copy (the network went away)
    real_save, saved = S3Storage.save, []

    def save_once(self, name, stream, metadata=None):
        if saved:
            raise ConnectionError("network unreachable")
        saved.append(name)
        real_save(self, name, stream, metadata)

    monkeypatch.setattr(S3Storage, "save", save_once)
    result = migrate(app)
    assert result.exit_code != 0 and isinstance(result.exception, ConnectionError)
    assert saved == names[:1]
    monkeypatch.setattr(S3Storage, "save", real_save)

    # run again: continues, the first one is already there, the broken copy is replaced
    result = migrate(app)
    assert result.exit_code == 0, result.output
    assert "storage: 2 copied, 1 already there, 0 failed, 1 missing" in result.output
    assert rows["lost.pdf"].stored_name in result.output
    assert s3_server.keys(s3_prefix) == names  # no notes.txt
    for name in names:
        body = s3.get_object(Bucket=BUCKET, Key=s3_prefix + name)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == next(a.sha256 for a in rows.values() if a.stored_name == name)
    big_name = rows["big.pdf"].stored_name
    etag = s3.head_object(Bucket=BUCKET, Key=s3_prefix + big_name)["ETag"].strip('"')
    assert etag.endswith("-2") and etag in checksums(local, big_name).etags()  # verified without reading it back

    # and again: nothing to do
    result = migrate(app)
    assert result.exit_code == 0 and "storage: 0 copied, 3 already there, 0 failed, 1 missing" in result.output

    # a local file that no longer matches its row is not copied over the good object
    (local.folder / rows["a.pdf"].stored_name).write_bytes(PDF + b"changed")
    result = migrate(app)
    assert result.exit_code == 1 and "storage: 0 copied, 2 already there, 1 failed, 1 missing" in result.output
    body = s3.get_object(Bucket=BUCKET, Key=s3_prefix + rows["a.pdf"].stored_name)["Body"].read()
    assert body == PDF

    # switched to the bucket, with no local files at all: the portal serves the copies
    for name in names:
        local.delete(name)
    app.config["FILE_STORAGE"] = "s3"
    app.extensions.pop("portal_storage")
    response = customer_client.get(f"/cc/orders/{rows['big.pdf'].order_id}/files/{rows['big.pdf'].id}")
    assert response.status_code == 200 and response.data == big


@pytest.mark.parametrize("backend", ["local"])
def test_migrate_without_a_bucket_says_what_to_set(app, backend):
    app.config["S3_BUCKET"] = None
    result = migrate(app)
    assert result.exit_code == 2 and "S3_BUCKET" in result.output


@pytest.mark.parametrize("settings,message", [
    ({"FILE_STORAGE": "ftp"}, "FILE_STORAGE='ftp' is not known"),
    ({"FILE_STORAGE": "s3", "S3_BUCKET": None}, "FILE_STORAGE=s3 needs S3_BUCKET"),
])
def test_the_app_refuses_to_start_with_an_unusable_storage_setting(tmp_path, settings, message):
    from app import create_app

    with pytest.raises(RuntimeError, match=re.escape(message)):
        create_app({"INSTANCE_DIR": str(tmp_path), "UPLOAD_FOLDER": str(tmp_path / "u"), "SECRET_KEY": "x",
                    **settings})


def test_prune_deletes_old_files_no_attachment_names_and_keeps_the_rest(app, backend, customer_client):
    """A server killed between storing an upload and committing its order leaves a file without a
    row: `flask portal storage prune` removes it once it is older than the grace period."""
    data = new_order_data(files=[upload("kept.pdf")])
    assert customer_client.post("/cc/orders/new", data=data, content_type="multipart/form-data").status_code == 302
    [kept] = stored(app)
    storage = get_storage()
    storage.save("0" * 32, io.BytesIO(b"%PDF left behind"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["portal", "storage", "prune", "--older-than", "5"])
    assert result.exit_code == 0 and "0 files without attachment deleted, 1 younger ones kept" in result.output
    result = runner.invoke(args=["portal", "storage", "prune", "--older-than", "0", "--dry-run"])
    assert "1 files without attachment to delete" in result.output and "0" * 32 in result.output
    assert sorted(stored(app)) == sorted([kept, "0" * 32])
    result = runner.invoke(args=["portal", "storage", "prune", "--older-than", "0"])
    assert result.exit_code == 0 and "1 files without attachment deleted" in result.output
    assert stored(app) == [kept]  # the order's file stays
    assert customer_client.get(f"/cc/orders/{db.session.scalars(select(Order)).one().id}").status_code == 200
