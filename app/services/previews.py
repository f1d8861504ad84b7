"""Checked rows of an uploaded file kept on the server between the preview and the confirmation.

The browser only carries a random token; the rows stay in ``INSTANCE_DIR/imports/<token>.json``
bound to the user and company that uploaded them and valid for ``MAX_AGE``. A token of another
user or company, an expired or a malformed one reads as "no preview" — so nothing the client sends
back can change what is saved, and a file is never parsed twice.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path
from typing import Optional

from flask import current_app

MAX_AGE = 3600  # seconds
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _folder() -> Path:
    folder = Path(current_app.config["INSTANCE_DIR"]) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _purge(folder: Path) -> None:
    """Remove previews nobody confirmed within the hour."""
    limit = time.time() - MAX_AGE
    for path in folder.glob("*.json"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def save(kind: str, user_id: int, company_id: int, rows: list[dict]) -> str:
    """Keep ``rows`` for this user and company; the token to confirm them with."""
    folder = _folder()
    _purge(folder)
    token = secrets.token_urlsafe(32)
    payload = {"kind": kind, "user_id": user_id, "company_id": company_id, "created": time.time(), "rows": rows}
    (folder / f"{token}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return token


def load(kind: str, token: str, user_id: int, company_id: int) -> Optional[list[dict]]:
    """The rows kept under ``token`` if they are this user's and company's and not expired, else None."""
    if not token or not TOKEN.fullmatch(token):
        return None
    path = _folder() / f"{token}.json"
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (payload.get("kind") != kind or payload.get("user_id") != user_id or payload.get("company_id") != company_id
            or time.time() - float(payload.get("created", 0)) > MAX_AGE):
        return None
    return payload.get("rows")


def discard(token: str) -> None:
    if token and TOKEN.fullmatch(token):
        (_folder() / f"{token}.json").unlink(missing_ok=True)
