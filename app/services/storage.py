"""Where attachment files live: a local folder or an S3-compatible bucket (``FILE_STORAGE``).

One interface, two backends; callers (``app/services/files.py``, ``flask portal storage migrate``,
the readiness check) never learn which one runs. Names are chosen by the caller (random, see
``files.store``); a backend never invents or changes one.
"""
from __future__ import annotations

import datetime as dt

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from flask import current_app

CHUNK = 64 * 1024
# Parts of a multipart upload: S3's smallest allowed part. One part is in memory at a time
# (threads off), so an upload of any size needs about this much memory, never the whole file.
PART_SIZE = 5 * 1024 * 1024


class StoredFileMissing(LookupError):
    """The storage has no object under this name (lost, or never copied to this storage)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclass
class ObjectInfo:
    size: int
    etag: str | None = None  # S3 only: the MD5 of a single-part upload, in quotes
    sha256: str | None = None  # recorded with the object when it was copied by the migration


class Storage(Protocol):
    def save(self, name: str, stream: BinaryIO, metadata: dict[str, str] | None = None) -> None:
        """Write everything ``stream.read()`` gives under ``name``. An exception from the stream
        (a refused upload) leaves nothing behind and is raised unchanged."""

    def open(self, name: str) -> tuple[BinaryIO, int]:
        """The object as a stream to read, and its size. :raises StoredFileMissing:"""

    def delete(self, name: str) -> None:
        """Remove ``name``; a name that is not there is no error."""

    def info(self, name: str) -> ObjectInfo | None:
        """Size (and checksums where the backend has them), None for a missing object."""

    def names(self) -> Iterator[str]:
        """Every stored name, in name order."""

    def listing(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every stored name with the time (UTC, naive) it was written."""

    def check(self) -> None:
        """:raises Exception: when the storage cannot be reached or written (readiness)."""


class LocalStorage:
    """Files in one folder of this server's disk (``UPLOAD_FOLDER``): the embedded default."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a stored name: {name!r}")
        return self.folder / name

    def save(self, name, stream, metadata=None):
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        try:
            with open(path, "xb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def open(self, name):
        try:
            handle = open(self._path(name), "rb")
        except FileNotFoundError:
            raise StoredFileMissing(name) from None
        return handle, os.fstat(handle.fileno()).st_size

    def delete(self, name):
        self._path(name).unlink(missing_ok=True)

    def info(self, name):
        try:
            return ObjectInfo(size=self._path(name).stat().st_size)
        except FileNotFoundError:
            return None

    def names(self):
        if not self.folder.is_dir():
            return iter(())
        return iter(sorted(p.name for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")))

    def listing(self):
        for name in self.names():
            try:
                mtime = self._path(name).stat().st_mtime
            except FileNotFoundError:
                continue
            yield name, dt.datetime.fromtimestamp(mtime, dt.timezone.utc).replace(tzinfo=None)

    def check(self):
        if not os.access(self.folder, os.W_OK):
            raise OSError(f"{self.folder} is not writable")


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, …) through boto3.

    Credentials come from boto3's usual sources (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
    a profile, an instance role); they are never part of the portal's configuration.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None):
        import boto3.session
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        # its own session: boto3's shared default session must not build clients in several threads
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url or None, region_name=region or None,
            config=BotoConfig(connect_timeout=5, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"}),
        )
        # No threads: parts are read and sent one after the other, so memory stays at one part.
        self.transfer = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE,
                                       use_threads=False)

    def _key(self, name: str) -> str:
        return self.prefix + name

    @staticmethod
    def _missing(error) -> bool:
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def save(self, name, stream, metadata=None):
        # upload_fileobj sends one PUT below PART_SIZE, else a multipart upload that it aborts
        # when the stream raises (a refused upload): no object and no unfinished parts remain.
        extra = {"ContentType": "application/octet-stream"}
        if metadata:
            extra["Metadata"] = metadata
        self.client.upload_fileobj(stream, self.bucket, self._key(name), ExtraArgs=extra, Config=self.transfer)

    def open(self, name):
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as error:
            if self._missing(error):
                raise StoredFileMissing(name) from None
            raise
        return response["Body"], int(response["ContentLength"])

    def delete(self, name):
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def info(self, name):
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(name))
        except ClientError as error:
            if self._missing(error):
                return None
            raise
        return ObjectInfo(size=int(head["ContentLength"]), etag=head.get("ETag"),
                          sha256=(head.get("Metadata") or {}).get("sha256"))

    def names(self):
        for name, _written in self.listing():
            yield name

    def listing(self):
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.prefix):]
                if name and "/" not in name:
                    yield name, item["LastModified"].astimezone(dt.timezone.utc).replace(tzinfo=None)

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)


def local_storage(config=None) -> LocalStorage:
    config = config if config is not None else current_app.config
    return LocalStorage(config["UPLOAD_FOLDER"])


def s3_storage(config=None) -> S3Storage:
    config = config if config is not None else current_app.config
    return S3Storage(config["S3_BUCKET"], config.get("S3_PREFIX") or "",
                     config.get("S3_ENDPOINT_URL"), config.get("S3_REGION"))


_creating = threading.Lock()


def get_storage() -> Storage:
    """The app's configured storage (one per app: the boto3 client is thread-safe and reused)."""
    app = current_app._get_current_object()
    storage = app.extensions.get("portal_storage")
    if storage is None:
        with _creating:
            storage = app.extensions.get("portal_storage")
            if storage is None:
                kind = app.config.get("FILE_STORAGE", "local")
                storage = s3_storage(app.config) if kind == "s3" else local_storage(app.config)
                app.extensions["portal_storage"] = storage
    return storage
