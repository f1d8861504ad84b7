"""Attachment files: stored under random names outside any static folder."""
from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, send_file
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from app.extensions import db
from app.models import Attachment

DEFAULT_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "xlsx", "docx", "zip")
CHUNK = 64 * 1024


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
    path: Path


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


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


def store(upload: FileStorage) -> StoredFile:
    """Stream an upload to disk under a random name; the caller records it.

    :raises UploadRefused: for a type outside the allow-list, content that does
        not fit the type, an empty or a too large file (nothing stays on disk).
    """
    original = clean_original_name(upload.filename or "")
    ext = check_extension(original)
    limit = max_file_size()
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = folder / stored_name
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            while True:
                chunk = upload.stream.read(CHUNK)
                if not chunk:
                    break
                if size == 0 and not content_matches(ext, chunk[:8192]):
                    raise UploadRefused("content", original, ext)
                digest.update(chunk)
                size += len(chunk)
                if size > limit:
                    raise UploadRefused("too_large", original, ext)
                out.write(chunk)
        if size == 0:
            raise UploadRefused("empty", original, ext)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    content_type = mimetypes.guess_type(original)[0] or "application/octet-stream"
    return StoredFile(stored_name, original, content_type, size, digest.hexdigest(), path)


def discard(stored: list[StoredFile]) -> None:
    """Remove files written for a transaction that did not commit."""
    for item in stored:
        item.path.unlink(missing_ok=True)


def send_attachment(attachment: Attachment):
    """Serve a stored file as a download with its original name."""
    path = upload_dir() / attachment.stored_name
    response = send_file(
        path,
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
    the user); then, as on any other failure, no file stays on disk and no row is saved.
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
