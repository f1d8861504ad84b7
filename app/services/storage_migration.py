"""Copying the local attachment files into object storage (``flask portal storage migrate``).

Idempotent and resumable: a file already in the bucket with the same checksum is skipped, so a run
that stopped halfway continues where it stopped. Every copy is verified: the bucket's ETag against
the file's MD5 (one part) or the MD5 of its parts' MD5s (multipart), else by reading the object
back and comparing its SHA-256. A file whose content no longer matches its row's SHA-256 is not
copied.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment
from app.services.storage import CHUNK, PART_SIZE, Storage

STORED_NAME = re.compile(r"[0-9a-f]{32}")  # files.store's random names; anything else is no attachment


@dataclass
class Checksums:
    size: int
    sha256: str
    md5: str
    part_md5s: list[bytes]

    def etags(self) -> set[str]:
        """The ETags S3 gives this content: one PUT, or a multipart upload in PART_SIZE parts."""
        multipart = hashlib.md5(b"".join(self.part_md5s)).hexdigest() + f"-{len(self.part_md5s)}"
        return {self.md5, multipart}


@dataclass
class MigrationResult:
    copied: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows whose file is in neither storage


def checksums(storage: Storage, name: str) -> Checksums:
    """SHA-256, MD5 and the MD5 of each PART_SIZE part, in one streamed pass."""
    stream, _size = storage.open(name)
    sha, md5, part, parts, size, in_part = hashlib.sha256(), hashlib.md5(), hashlib.md5(), [], 0, 0
    with stream:
        while chunk := stream.read(CHUNK):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
            while chunk:  # CHUNK divides PART_SIZE, but a short read need not
                take = chunk[: PART_SIZE - in_part]
                part.update(take)
                in_part += len(take)
                chunk = chunk[len(take):]
                if in_part == PART_SIZE:
                    parts.append(part.digest())
                    part, in_part = hashlib.md5(), 0
    if in_part or not parts:
        parts.append(part.digest())
    return Checksums(size, sha.hexdigest(), md5.hexdigest(), parts)


def _same(target: Storage, name: str, sums: Checksums, read_back: bool) -> bool:
    info = target.info(name)
    if info is None or info.size != sums.size:
        return False
    if info.etag and info.etag.strip('"') in sums.etags():
        return True
    if not read_back:  # is it already there? the checksum recorded when it was copied
        return info.sha256 == sums.sha256
    # an ETag that is no MD5 (encrypted buckets, other servers): read it back
    return checksums(target, name).sha256 == sums.sha256


def migrate(source: Storage, target: Storage, echo: Callable[[str], None] = lambda _m: None) -> MigrationResult:
    """Copy every attachment file of ``source`` into ``target``, verified; skip those already there."""
    result = MigrationResult()
    for name in source.names():
        if not STORED_NAME.fullmatch(name):
            continue
        sums = checksums(source, name)
        recorded = db.session.scalar(select(Attachment.sha256).where(Attachment.stored_name == name))
        if recorded is not None and recorded != sums.sha256:
            echo(f"{name}: the local file does not match its recorded SHA-256; not copied")
            result.failed.append(name)
            continue
        if _same(target, name, sums, read_back=False):
            result.skipped += 1
            continue
        stream, _size = source.open(name)
        with stream:
            target.save(name, stream, metadata={"sha256": sums.sha256})
        if _same(target, name, sums, read_back=True):
            result.copied += 1
        else:
            target.delete(name)
            echo(f"{name}: the copy did not match the local file; removed from the target")
            result.failed.append(name)
    rows = db.session.scalars(select(Attachment.stored_name).order_by(Attachment.id).execution_options(yield_per=1000))
    for name in rows:
        if source.info(name) is None and target.info(name) is None:
            echo(f"{name}: recorded for an attachment, but in neither storage")
            result.missing.append(name)
    return result


def prune(storage, older_than: dt.timedelta, dry_run: bool = False) -> tuple[list[str], int]:
    """Delete the stored files no attachment row names that were written longer than ``older_than``
    ago: what a server killed between storing an upload and committing its order left behind. A
    younger one may belong to an upload whose order is being saved right now, so it stays. Returns
    (the names deleted — or that would be, with ``dry_run`` — and how many unnamed files stayed)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Attachment, utcnow

    cutoff = utcnow() - older_than
    listed = list(storage.listing())
    known: set[str] = set()
    names = [name for name, _written in listed]
    for start in range(0, len(names), 500):  # in batches: an IN list of every name would be unbounded
        batch = names[start:start + 500]
        known.update(db.session.scalars(select(Attachment.stored_name).where(Attachment.stored_name.in_(batch))))
    orphans = [(name, written) for name, written in listed if name not in known]
    old = [name for name, written in orphans if written < cutoff]
    if not dry_run:
        for name in old:
            storage.delete(name)
    return old, len(orphans) - len(old)
