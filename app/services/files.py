"""Attachment files: checked while they stream in, stored under random names (in the folder or the
bucket of ``app/services/storage.py``, never in a static folder), served only as downloads."""
from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
from dataclasses import dataclass

from flask import current_app, request, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound, RequestedRangeNotSatisfiable
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import Attachment
from app.services.storage import StoredFileMissing, get_storage

DEFAULT_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "xlsx", "docx", "zip")


class UploadRefused(ValueError):
    """The file may not be stored (type, content or size); ``message`` is for the user."""

    def __init__(self, code: str, name: str = "", ext: str = ""):
        super().__init__(code)
        self.code, self.name, self.ext = code, name, ext

    @property
    def message(self) -> str:
        from flask_babel import gettext as _

        if self.code == "type":
            return _("Files of type “%(ext)s” are not accepted. Allowed: %(allowed)s.",
                     ext=self.ext or "?", allowed=", ".join(sorted(allowed_extensions())))
        if self.code == "empty":
            return _("The file “%(name)s” is empty.", name=self.name)
        if self.code == "too_large":
            return _("The file “%(name)s” is larger than %(mb)d MB.", name=self.name, mb=max_file_size() // (1024 * 1024))
        if self.code == "content":
            return _("The file “%(name)s” does not look like a %(ext)s file.", name=self.name, ext=self.ext.upper())
        return _("The file could not be stored.")


# The first bytes each accepted type starts with (None: text, no NUL bytes).
SIGNATURES = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "xlsx": (b"PK\x03\x04",),
    "docx": (b"PK\x03\x04",),
    "txt": None,
    "csv": None,
}


def max_file_size() -> int:
    return int(current_app.config.get("UPLOAD_MAX_FILE_SIZE", 25 * 1024 * 1024))


def content_matches(ext: str, head: bytes) -> bool:
    """Does the start of the file fit its extension? Unknown types pass."""
    if ext not in SIGNATURES:
        return True
    signatures = SIGNATURES[ext]
    if signatures is None:
        return b"\x00" not in head
    return any(head.startswith(sig) for sig in signatures)


@dataclass
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size: int
    sha256: str


class AttachmentMissing(NotFound):
    """The attachment's row exists but its file is not in the storage: a 404 with its own message."""

    def __init__(self, attachment: Attachment):
        super().__init__()
        self.original_name = attachment.original_name


def allowed_extensions() -> set[str]:
    configured = current_app.config.get("UPLOAD_EXTENSIONS") or DEFAULT_EXTENSIONS
    return {ext.lower().lstrip(".") for ext in configured}


def clean_original_name(filename: str) -> str:
    """A safe display name that keeps the extension (and umlauts where possible)."""
    name = os.path.basename((filename or "").replace("\\", "/")).strip()
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"/\\|?*')
    return name[:200] or secure_filename(filename or "") or "file"


def check_extension(filename: str) -> str:
    """:raises UploadRefused: for a type outside the allow-list."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in allowed_extensions():
        raise UploadRefused("type", filename, ext)
    return ext


def real_files(uploads) -> list[FileStorage]:
    """The files actually chosen (an empty file input sends one without a name)."""
    return [f for f in (uploads or []) if isinstance(f, FileStorage) and f.filename]


class _CheckedUpload:
    """The upload as a stream for the storage, checked while the storage reads it: the first
    bytes against the type, the size against the limit; the SHA-256 on the way."""

    def __init__(self, stream, original: str, ext: str, limit: int):
        self.stream, self.original, self.ext, self.limit = stream, original, ext, limit
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        if not chunk:
            return b""
        if self.size == 0 and not content_matches(self.ext, chunk[:8192]):
            raise UploadRefused("content", self.original, self.ext)
        self.size += len(chunk)
        if self.size > self.limit:
            raise UploadRefused("too_large", self.original, self.ext)
        self.digest.update(chunk)
        return chunk


def store(upload: FileStorage) -> StoredFile:
    """Stream an upload into the storage under a random name; the caller records it.

    The file is never whole in memory: the local folder takes it in chunks, object storage in
    parts (multipart above ``storage.PART_SIZE``).

    :raises UploadRefused: for a type outside the allow-list, content that does
        not fit the type, an empty or a too large file (nothing stays in the storage).
    """
    original = clean_original_name(upload.filename or "")
    ext = check_extension(original)
    storage = get_storage()
    stored_name = secrets.token_hex(16)
    checked = _CheckedUpload(upload.stream, original, ext, max_file_size())
    storage.save(stored_name, checked)  # a refusal raised while reading leaves nothing behind
    if checked.size == 0:
        storage.delete(stored_name)
        raise UploadRefused("empty", original, ext)
    content_type = mimetypes.guess_type(original)[0] or "application/octet-stream"
    return StoredFile(stored_name, original, content_type, checked.size, checked.digest.hexdigest())


def discard(stored: list[StoredFile]) -> None:
    """Remove files written for a transaction that did not commit."""
    storage = get_storage()
    for item in stored:
        storage.delete(item.stored_name)


def send_stored(stored_name: str, *, mimetype: str, download_name: str):
    """A stored file as a download (never shown inline), streamed from the storage, never cached.

    :raises StoredFileMissing: when the storage has no such file.
    """
    stream, size = get_storage().open(stored_name)
    response = send_file(stream, mimetype=mimetype, as_attachment=True, download_name=download_name, max_age=0,
                         conditional=False, etag=False)
    response.content_length = size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def send_attachment(attachment: Attachment):
    """Serve a stored file as a download with its original name, streamed from the storage.

    The same headers on both backends: the content's SHA-256 as ETag (the same on every
    server), the upload time as Last-Modified, byte ranges.

    :raises AttachmentMissing: (404) when the storage has no file for the row.
    """
    try:
        response = send_stored(attachment.stored_name, mimetype=attachment.content_type,
                               download_name=attachment.original_name)
    except StoredFileMissing:
        current_app.logger.error("attachment %s (order %s): file %s missing in the storage",
                                 attachment.id, attachment.order_id, attachment.stored_name)
        raise AttachmentMissing(attachment) from None
    response.set_etag(attachment.sha256)
    response.last_modified = attachment.uploaded_at
    try:
        return response.make_conditional(request.environ, accept_ranges=True, complete_length=response.content_length)
    except RequestedRangeNotSatisfiable:
        response.close()
        raise


def record(order, stored_file: StoredFile, item=None, user=None) -> Attachment:
    """The database row for a stored file of ``order`` (or of its article ``item``)."""
    attachment = Attachment(
        order=order,
        item=item,
        company_id=order.company_id,
        stored_name=stored_file.stored_name,
        original_name=stored_file.original_name,
        content_type=stored_file.content_type,
        size=stored_file.size,
        sha256=stored_file.sha256,
        uploaded_by_id=user.id if user else None,
    )
    return attachment


def attach(order, uploads, item=None, user=None) -> list[Attachment]:
    """Store ``uploads`` as files of ``order`` (or of its article ``item``), rows committed with them.

    All or nothing: :raises UploadRefused: for a file that may not be stored (its message is for
    the user); then, as on any other failure, no file stays in the storage and no row is saved.
    """
    stored: list[StoredFile] = []
    try:
        for upload in uploads:
            stored.append(store(upload))
        rows = [record(order, sf, item=item, user=user) for sf in stored]
        db.session.add_all(rows)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        discard(stored)
        raise
    return rows
