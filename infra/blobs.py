"""File bytes, kept out of the event store: content-addressed by SHA-256 (the same bytes
stored once), on the local filesystem under the data directory or in an S3-compatible
bucket (which several API machines can share).

A write goes to a draft while it is hashed; only `commit` puts it at its address, so a
refused or failed upload leaves nothing behind."""

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from arqium.infra.settings import Settings

CHUNK_BYTES = 256 * 1024
ADDRESS = re.compile("[0-9a-f]{64}")


class BlobNotFound(LookupError):
    pass


class BlobDraft:
    """Bytes being written to a local temporary file and hashed as they come."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f".draft-{uuid.uuid4().hex}"
        self._file = open(self.path, "xb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def finish(self) -> str:
        """Close the draft; its SHA-256 (hex), the address it goes to."""
        self._file.close()
        return self._hash.hexdigest()

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


class BlobStore(Protocol):
    def draft(self) -> BlobDraft:
        """A new draft, to `commit` or `discard`."""

    def commit(self, draft: BlobDraft) -> str:
        """Store the draft's bytes at their address (once: the same bytes again only drop
        the draft); the address."""

    def exists(self, address: str) -> bool: ...

    def size(self, address: str) -> int:
        """BlobNotFound if there is no such blob."""

    def modified(self, address: str) -> datetime:
        """When the blob was last stored (committing the same bytes again counts): a
        blob no file holds is removed only once it is old enough (system/blob_sweep.py).
        BlobNotFound if there is no such blob."""

    def read(self, address: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from `start` up to and including `end` (default: the last)."""

    def local_path(self, address: str) -> Path | None:
        """Where the blob is on this machine's disk, if it is (a file response can serve
        it, ranges included)."""

    def delete(self, address: str) -> None:
        """Remove the blob (nothing if there is none)."""

    def addresses(self) -> Iterator[str]:
        """Every stored blob's address."""


def check_address(address: str) -> str:
    if not ADDRESS.fullmatch(address):
        raise BlobNotFound(address)
    return address


class FileSystemBlobs:
    """Blobs as files `<root>/<first two hex digits>/<sha256>`; drafts in `<root>/tmp`,
    on the same filesystem, so committing one is an atomic rename."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, address: str) -> Path:
        check_address(address)
        return self.root / address[:2] / address

    def draft(self) -> BlobDraft:
        return BlobDraft(self.root / "tmp")

    def commit(self, draft: BlobDraft) -> str:
        address = draft.finish()
        target = self.path(address)
        if target.exists():
            draft.discard()
            os.utime(target)  # fresh again: an upload about to be recorded holds it
            return address
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(draft.path, target)
        return address

    def exists(self, address: str) -> bool:
        return self.path(address).exists()

    def size(self, address: str) -> int:
        try:
            return self.path(address).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(address) from None

    def modified(self, address: str) -> datetime:
        try:
            stamp = self.path(address).stat().st_mtime
        except FileNotFoundError:
            raise BlobNotFound(address) from None
        return datetime.fromtimestamp(stamp, timezone.utc)

    def read(self, address: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        try:
            blob = open(self.path(address), "rb")
        except FileNotFoundError:
            raise BlobNotFound(address) from None
        return _ranged(blob, start, end)

    def local_path(self, address: str) -> Path | None:
        return self.path(address)

    def delete(self, address: str) -> None:
        self.path(address).unlink(missing_ok=True)

    def addresses(self) -> Iterator[str]:
        for path in self.root.glob("??/*"):
            if ADDRESS.fullmatch(path.name):
                yield path.name


def _ranged(blob: Any, start: int, end: int | None) -> Iterator[bytes]:
    with blob:
        blob.seek(start)
        left = None if end is None else end - start + 1
        while left is None or left > 0:
            chunk = blob.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


class S3Blobs:
    """Blobs as objects `<prefix><sha256>` in an S3-compatible bucket. Drafts are local
    temporary files: only a committed blob reaches the bucket (boto3 uploads it in
    parts when large)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "blobs/",
                 draft_dir: Path | None = None):
        self.client, self.bucket, self.prefix = client, bucket, prefix
        self.draft_dir = Path(draft_dir or tempfile.gettempdir()) / "arqium-drafts"

    def key(self, address: str) -> str:
        return self.prefix + check_address(address)

    def draft(self) -> BlobDraft:
        return BlobDraft(self.draft_dir)

    def commit(self, draft: BlobDraft) -> str:
        address = draft.finish()
        try:
            if self.exists(address):  # fresh again: an upload about to be recorded holds it
                self.client.copy_object(
                    Bucket=self.bucket, Key=self.key(address), MetadataDirective="REPLACE",
                    CopySource={"Bucket": self.bucket, "Key": self.key(address)})
            else:
                self.client.upload_file(str(draft.path), self.bucket, self.key(address))
        finally:
            draft.discard()
        return address

    def exists(self, address: str) -> bool:
        try:
            self.size(address)
        except BlobNotFound:
            return False
        return True

    def size(self, address: str) -> int:
        return self._head(address)["ContentLength"]

    def modified(self, address: str) -> datetime:
        return self._head(address)["LastModified"]

    def _head(self, address: str) -> dict:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(address))
        except self.client.exceptions.ClientError as error:
            if _missing(error):
                raise BlobNotFound(address) from None
            raise

    def read(self, address: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        wanted = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(address),
                                            Range=wanted)
        except self.client.exceptions.ClientError as error:
            if _missing(error):
                raise BlobNotFound(address) from None
            raise
        return answer["Body"].iter_chunks(CHUNK_BYTES)

    def local_path(self, address: str) -> Path | None:
        return None

    def delete(self, address: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(address))

    def addresses(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(self.prefix)
                if ADDRESS.fullmatch(name):
                    yield name


def _missing(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def open_s3_client(endpoint: str, access_key: str | None, secret_key: str | None,
                   region: str) -> Any:
    """A boto3 S3 client (imported here: without S3 it is never loaded)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name=region,
                        config=Config(s3={"addressing_style": "path"}))


def open_blobs(settings: Settings) -> BlobStore:
    """Where file bytes go: the S3-compatible bucket when one is configured (what lets
    several API machines share files), else `<data_dir>/blobs`."""
    if not (settings.s3_endpoint and settings.s3_bucket):
        return FileSystemBlobs(Path(settings.data_dir) / "blobs")
    secret = settings.s3_secret_access_key
    client = open_s3_client(settings.s3_endpoint, settings.s3_access_key_id,
                            secret.get_secret_value() if secret else None,
                            settings.s3_region)
    return S3Blobs(client, settings.s3_bucket, settings.s3_prefix,
                   Path(settings.data_dir) / "tmp")
