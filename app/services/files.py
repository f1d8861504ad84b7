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

from app.models import Attachment

DEFAULT_EXTENSIONS = ("pdf", "png", "jpg", "jpeg", "gif", "txt", "csv", "xlsx", "docx", "zip")
CHUNK = 64 * 1024


class UploadRefused(ValueError):
    """The file may not be stored (type or size); the message is for the user."""


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
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in allowed_extensions():
        raise UploadRefused(ext)
    return ext


def store(upload: FileStorage) -> StoredFile:
    """Stream an upload to disk under a random name; the caller records it.

    :raises UploadRefused: for a type outside the allow-list or an empty file.
    """
    original = clean_original_name(upload.filename or "")
    check_extension(original)
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    path = folder / stored_name
    digest = hashlib.sha256()
    size = 0
    with open(path, "xb") as out:
        while True:
            chunk = upload.stream.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if size == 0:
        path.unlink(missing_ok=True)
        raise UploadRefused("empty")
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
